"""``GradientTape``: record ops, then run the reverse sweep over the record.

The tape is a list of :class:`~tapeviz.ops._registry.TapeEntry` in execution order, one per
recorded op: the op, its inputs (per input the Variable itself or the tensor's name — never
the Tensor objects, which the tape therefore does not keep alive), their values, the output
value, the attrs, the name scope, the tensors' ids and which inputs were tracked when the op
ran.  Ops run in one place, :func:`tapeviz.ops._registry.apply`, which hands each op to
:meth:`GradientTape._record`, the one place that makes an entry.

``gradient`` walks that list backwards in a plain loop (no recursion: a 100 000-op chain
works), asking each op's VJP rule for the contributions to its inputs and summing them
where a value fans out.  When another tape is recording while the sweep runs, the rules
run on tapeviz Tensors, so that tape records the gradient computation itself — that is
how a second derivative comes out of nested tapes.  Otherwise the rules run on raw numpy
values (the fast path), and the sweep lets go of each adjoint once it has been used; the
record (``tape.record()``) replays such a sweep to show every step, which gives the same
numbers because the rules are pure functions of the recorded values.

>>> import tapeviz as tv
>>> x = tv.Variable(3.0)
>>> with tv.GradientTape() as tape:
...     y = x * x
>>> print(tape.gradient(y, x))
tv.Tensor(6.0, shape=(), dtype=float32)
"""

from __future__ import annotations

import collections
import contextlib
import enum
import operator
import warnings
import weakref
from collections.abc import Callable, Container, Iterable, Iterator, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

import numpy as np

from . import _state
from .ops import _registry
from .ops._registry import NUMPY, TENSOR, Backend, Op, TapeEntry, sanitize_attrs
from .tensor import Tensor, Variable, convert_to_tensor

if TYPE_CHECKING:  # (the record's builder and types load with the first record: import time)
    from . import _record_builder as _rb
    from .graph import Record

__all__ = ["GradientTape", "UnconnectedGradients", "hidden_from_tapes", "tape_of"]

_local = _state.local
# The last few tapes entered (weak references), so that a tensor can be traced back to the
# tape that recorded it (``tv.viz.graph(tensor)``).
_next_tape_id = _state.next_tape_id
_next_id = _state.next_id
_new = object.__new__
_FLOAT_SCALARS = frozenset({np.float16, np.float32, np.float64})
_id_of = operator.attrgetter("_id")
_NO_ATTRS: dict[str, Any] = {}
_ONE = {t: t(1) for t in (np.float16, np.float32, np.float64)}  # seeds of scalar targets
_recent: collections.deque[weakref.ReferenceType[GradientTape]] = collections.deque(maxlen=32)


def tape_of(tensor: object) -> GradientTape | None:
    """The most recent live tape that recorded ``tensor`` (as an op output or a source)."""
    tid = getattr(tensor, "_id", None)
    for ref in reversed(_recent):
        tape = ref()
        if tape is None:
            continue
        if tid in tape._watched or any(e.output_id == tid for e in tape._entries):
            return tape
    return None


@contextlib.contextmanager
def hidden_from_tapes(
    keep: object = None, watcher: GradientTape | None = None
) -> Iterator[list[GradientTape]]:
    """Run the block's ops unseen by this thread's recording tapes (all but ``keep``).

    The one way work is hidden from tapes (besides a tape's own ``stop_recording``): the
    forward of ``tv.custom_gradient``'s function and an optimizer step traced inside
    ``tv.function`` use it.  ``watcher``, a fresh tape, records the block instead (to see
    which Variables it reads).  Yields the tapes hidden.
    """
    tapes = _local.tapes
    hidden = [t for t in tapes if t._recording and t is not keep]
    for t in hidden:
        t._recording = False
    if watcher is not None:
        watcher._where = _local._where
        tapes.append(watcher)
        watcher._recording = True
    try:
        yield hidden
    finally:
        if watcher is not None:
            watcher._pop()
            watcher._recording = False
        for t in hidden:
            t._recording = True


class UnconnectedGradients(enum.Enum):
    """What ``gradient`` returns for a source the target does not depend on."""

    NONE = "none"
    ZERO = "zero"


NON_PERSISTENT_MSG = (
    "A non-persistent GradientTape can only be used to compute one set of gradients (or jacobians)"
)
PERSISTENT_IN_CONTEXT_MSG = (
    "Calling GradientTape.gradient on a persistent tape inside its context is "
    "significantly less efficient than calling it outside the context (it causes the "
    "gradient ops to be recorded on the tape, leading to increased CPU and memory usage). "
    "Only call GradientTape.gradient inside the context if you actually want to trace the "
    "gradient in order to compute higher order derivatives."
)
_warned_persistent_in_context = False


class GradientTape:
    """Records ops run inside its ``with`` block, to differentiate them afterwards.

    Parameters
    ----------
    persistent : bool
        If False (default) ``gradient``/``jacobian`` may be called once; the tape then
        frees what only the sweep needed.
    watch_accessed_variables : bool
        If True, trainable float Variables read inside the block are watched
        automatically; constants are watched only through :meth:`watch`.

    The recorded graph is available, read-only, as :meth:`record`.
    """

    # What a new tape starts with, as class attributes: an instance stores its own value
    # only once it changes (a tape in a training loop is made 1000s of times).
    _recording = False
    _last: tuple[Any, ...] | None = None
    _record_cache: Record | None = None
    _record_data: _rb.RecordData | None = None
    _record_names: tuple[dict[int, str], dict[int, str]] | None = None
    _record_stamp: tuple[int, int, int] = (0, 0, 0)
    _sweeps = 0  # traced sweeps so far (part of the record's cache stamp)
    _numpy_warned = False  # numpy code ran on a tensor while it recorded (warned once)
    _stack: tuple[()] | list[Any] = ()  # the tape stack it was pushed on (by __enter__)
    _entered = False  # its `with` block has begun (stop_recording's two errors differ)
    # ``_state.local.where`` (name scope, sweep group) while on the tape stack
    _where: tuple[str, str | None] = ("", None)

    def __init__(self, persistent: bool = False, watch_accessed_variables: bool = True) -> None:
        self._persistent = persistent is not False and bool(persistent)
        self._watch_accessed = watch_accessed_variables is True or bool(watch_accessed_variables)
        self._id = _next_tape_id()
        self._entries: list[TapeEntry] = []
        self._tracked: set[int] = set()
        # id -> (Variable or _Kept, number of entries recorded when it was watched)
        self._watched: dict[int, tuple[Variable | _Kept, float, Any]] = {}
        # (flags that every gradient call reads: set here, as an instance's own attributes
        # are read faster than the class's)
        self._used = False  # gradient or jacobian was called (non-persistent: no more)
        # set while recording: an op whose numbers may warn (the sweep then silences numpy
        # as TensorFlow is silent), whether custom_gradient closures are on the tape, and
        # whether a tensor was watched explicitly after ops were recorded
        self._risky = self._custom = self._late_watch = False

    # -- context management ----------------------------------------------------------------
    def __enter__(self) -> GradientTape:
        if self._used:
            raise RuntimeError(NON_PERSISTENT_MSG + "; this tape was already used")
        self._where = _local._where  # (kept up to date by _state while on the stack)
        self._stack = tapes = _local.tapes  # (this thread's tape stack, for __exit__)
        tapes.append(self)
        self._recording = True
        self._entered = True
        _recent.append(weakref.ref(self))
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        tapes = self._stack
        if tapes and tapes[-1] is self:
            tapes.pop()
        else:
            self._pop()
        self._recording = False

    def _pop(self) -> None:
        tapes = _local.tapes
        for i in range(len(tapes) - 1, -1, -1):
            if tapes[i] is self:
                del tapes[i]
                break

    @contextlib.contextmanager
    def stop_recording(self) -> Iterator[None]:
        """Temporarily stop recording: ops inside this block are not on the tape."""
        if not self._entered:  # TensorFlow's two cases, with their types and first sentences
            raise RuntimeError(
                "Trying to stop recording a tape which is not recording. Use "
                "tape.stop_recording() inside the tape's `with` block."
            )
        if not self._recording:
            raise ValueError(
                "Tape is not recording. Use tape.stop_recording() inside the tape's `with` "
                "block (after the block the tape has already stopped)."
            )
        self._recording = False
        try:
            yield
        finally:
            self._recording = True

    def reset(self) -> None:
        """Forget everything recorded so far (as if a new tape were entered)."""
        self._entries = []
        self._tracked = set()
        self._watched = {}
        self._last = None
        self._used = False
        self._record_cache = None
        self._record_data = None
        self._risky = False
        self._custom = False
        self._late_watch = False

    # -- what is recorded ------------------------------------------------------------------
    def watch(self, tensor: Any) -> None:
        """Watch a tensor (or a nested list/tuple/dict of them) so gradients reach it."""
        for t in _flatten(tensor):
            if not isinstance(t, Tensor):
                raise ValueError(
                    f"watch: passed an object of type {type(t).__name__}, not a tv.Tensor "
                    "or tv.Variable; convert it first with tv.constant(...)"
                )
            if not (t.dtype.is_floating or t.dtype.is_complex):
                warnings.warn(
                    "The dtype of the watched tensor must be floating (e.g. tf.float32), "
                    f"got tf.{t.dtype.name}",
                    stacklevel=2,
                )
                continue
            self._watch(t, explicit=True)

    def _watch(self, t: Tensor, explicit: bool = False) -> None:
        if t._id not in self._watched:
            # explicit watches come before the next op; automatic ones at the op reading it
            # (a Variable is kept; of another tensor only its id, value and name), with the
            # value it has now (a Variable may be assigned before the record is drawn)
            kept = t if type(t) is Variable else _Kept(t)
            n = len(self._entries)
            self._watched[t._id] = (kept, n - (0.5 if explicit else 0), t._value)
            self._record_data = None
            if explicit and n:
                # ops recorded before may have read t untracked: their `needs` are stale
                self._late_watch = True
        self._tracked.add(t._id)

    def watched_variables(self) -> tuple[Variable, ...]:
        """The Variables this tape watches, in creation order."""
        vs = [w[0] for w in self._watched.values() if isinstance(w[0], Variable)]
        return tuple(sorted(vs, key=lambda v: v._id))

    def _record(
        self,
        op: Op,
        xs: Sequence[Tensor],
        vals: tuple[Any, ...],
        out: Tensor,
        attrs: dict[str, Any],
    ) -> None:
        """Record ``op`` (run by :func:`~tapeviz.ops._registry.apply`) if it reads a
        tracked tensor: the one place where a :class:`TapeEntry` is made.

        An input is tracked when it is watched or computed from a watched tensor; a
        trainable float Variable an op reads is watched on the way.  An int or bool result
        carries no gradient and is not recorded.
        """
        tracked = self._tracked
        n = len(xs)
        if n == 2:  # (two inputs and one: most of a training loop's ops)
            x, y = xs
            xid = x._id
            yid = y._id
            # (each input's type looked at once: a Variable is kept, of a tensor its name)
            if type(x) is Variable:
                nx = xid in tracked or self._auto_watch(x)
                ix: Variable | str | None = x
            else:
                nx = xid in tracked
                ix = x._name
            if type(y) is Variable:
                ny = yid in tracked or self._auto_watch(y)
                iy: Variable | str | None = y
            else:
                ny = yid in tracked
                iy = y._name
            if not (nx or ny):
                return
            needs: tuple[bool, ...] = (nx, ny)
            inputs: tuple[Variable | str | None, ...] = (ix, iy)
            ids: tuple[int, ...] = (xid, yid)
        elif n == 1:
            x = xs[0]
            if not (x._id in tracked or (type(x) is Variable and self._auto_watch(x))):
                return
            needs = (True,)
            inputs = (x if type(x) is Variable else x._name,)
            ids = (x._id,)
        else:
            flags: list[bool] = []
            names: list[Variable | str | None] = []
            for x in xs:
                flags.append(x._id in tracked or (type(x) is Variable and self._auto_watch(x)))
                names.append(x if type(x) is Variable else x._name)
            if True not in flags:
                return
            needs, inputs, ids = tuple(flags), tuple(names), tuple(map(_id_of, xs))
        value = out._value
        if type(value) not in _FLOAT_SCALARS and value.dtype.kind not in "fc":
            return  # an int or bool result carries no gradient
        out_id = out._id
        tracked.add(out_id)
        warn = op.may_warn
        if warn and (warn is True or warn(*vals)):
            self._risky = True
        e = TapeEntry()  # (no __init__: fields set one by one, faster than passing them)
        e.op = op
        e.inputs = inputs
        e.input_values = vals
        e.output_value = value
        e.attrs = attrs
        e.where = self._where
        e.input_ids = ids
        e.output_id = out_id
        e.output_name = out._name
        e.needs = needs
        self._entries.append(e)

    def _auto_watch(self, v: Variable) -> bool:
        """Watch a Variable read by an op, as TensorFlow does for trainable float ones."""
        value = v._value
        if (
            self._watch_accessed
            and v._trainable
            and (type(value) in _FLOAT_SCALARS or value.dtype.kind in "fc")
        ):
            self._watch(v)
            return True
        return False

    def _record_custom(
        self, op: Op, xs: Sequence[Tensor], out: Tensor, attrs: dict[str, Any]
    ) -> None:
        """Record a ``custom_gradient`` op (its VJP calls the user's ``grad_fn``)."""
        self._custom = True
        self._record(op, xs, tuple([x._value for x in xs]), out, attrs)

    # -- gradients ---------------------------------------------------------------------------
    def _begin_use(self, what: str) -> None:
        global _warned_persistent_in_context
        if self._used:
            raise RuntimeError(
                NON_PERSISTENT_MSG
                + f". This tape has already computed gradients; to call {what} more than "
                "once, create it with tv.GradientTape(persistent=True)."
            )
        if self._recording:
            if not self._persistent:
                # A non-persistent tape stops recording once it is used.
                self._pop()
                self._recording = False
            elif not _warned_persistent_in_context:
                _warned_persistent_in_context = True
                warnings.warn(PERSISTENT_IN_CONTEXT_MSG, stacklevel=3)

    def _end_use(self) -> None:
        if not self._persistent:
            self._used = True
            if self._custom:
                self._drop_closures()

    def _drop_closures(self) -> None:
        """Let go of custom_gradient's grad_fn closures, which only the sweep needed (the
        record keeps their names)."""
        self._entries = [
            e.with_attrs(sanitize_attrs(e.attrs)) if e.op.name == "custom_gradient" else e
            for e in self._entries
        ]

    def gradient(
        self,
        target: Any,
        sources: Any,
        output_gradients: Any = None,
        unconnected_gradients: Any = UnconnectedGradients.NONE,
    ) -> Any:
        """Gradients of ``target`` with respect to ``sources``.

        Parameters
        ----------
        target : Tensor or nested list/tuple/dict of Tensors
            Several targets are summed; a non-scalar target is summed over its entries
            (its seed is ``ones_like(target)``) unless ``output_gradients`` gives the seed.
        sources : Tensor/Variable or nested list/tuple/dict of them
            The result has the same structure.
        output_gradients : like ``target``, optional
            Seeds ∂L/∂target (one per target) for a vector-Jacobian product.
        unconnected_gradients : ``UnconnectedGradients.NONE`` (default) or ``ZERO``
            What to return for sources the target does not depend on.

        Returns
        -------
        The gradients, each shaped like its source, ``None`` where unconnected.

        Raises
        ------
        RuntimeError
            On a second call on a non-persistent tape.
        """
        if target is None:
            raise TypeError(
                "Argument `target` should be a list or nested structure of Tensors, "
                "Variables or CompositeTensors to be differentiated, but received None."
            )
        if sources is None:
            raise TypeError(
                "gradient: `sources` is None; pass the Variables/Tensors to differentiate by"
            )
        mode = (
            unconnected_gradients
            if type(unconnected_gradients) is UnconnectedGradients
            else _unconnected(unconnected_gradients)
        )
        if self._used or self._recording:
            self._begin_use("gradient")
        if output_gradients is None and self._is_simple(target, sources):
            grad = self._simple_gradient(target, sources, mode)
            if not self._persistent:
                self._used = True
            return grad
        targets = [target] if isinstance(target, Tensor) else _tensors(_flatten(target), "target")
        if isinstance(sources, Tensor):  # one source, without structure handling
            seeds = None if output_gradients is None else self._seeds(targets, output_gradients)
            grads = self._sweep(targets, seeds, [sources], mode, True)
            if not self._persistent:
                self._used = True
                if self._custom:
                    self._drop_closures()
            return grads[0]
        flat_sources, rebuild = _flatten_structure(sources)
        srcs = _tensors(flat_sources, "sources")
        seeds = self._seeds(targets, output_gradients)
        grads = self._sweep(targets, seeds, srcs, mode, True)
        self._end_use()
        return rebuild(grads)

    # -- the common case: d(one number)/d(one Variable) ---------------------------------------
    def _is_simple(self, target: Any, source: Any) -> bool:
        """Whether ``gradient(target, source)`` is a training loop's step, which
        :meth:`_simple_gradient` serves: a float scalar ``target`` computed on this tape,
        ``source`` the one Variable the tape watches (the sweep then reaches every tracked
        tensor), no tape recording the sweep (no higher order), no ``custom_gradient``, no
        op whose numbers may warn, and a short tape (up to 32 ops)."""
        return (
            type(source) is Variable
            and isinstance(target, Tensor)
            and type(target._value) in _ONE
            and not (self._custom or self._risky or self._late_watch)
            and len(self._watched) == 1
            and source._id in self._watched
            and target._id in self._tracked
            and len(self._entries) <= 32
            and not _local.tapes
        )

    def _simple_gradient(
        self, target: Tensor, source: Variable, mode: UnconnectedGradients
    ) -> Tensor | None:
        """:meth:`_sweep` for the case :meth:`_is_simple` accepts, without its general
        set-up: the target's adjoint is one, every tracked tensor leads to the source, the
        rules run on numpy numbers.  Gives what ``_sweep`` gives, and keeps for the record
        what it keeps."""
        entries = self._entries
        n = len(entries)
        tid = target._id
        seed = _ONE[type(target._value)]
        adj = {tid: seed}
        # a non-persistent tape records no more: its tracked set is the sweep's reach as it is
        reach = set(self._tracked) if self._persistent else self._tracked
        _run_sweep(entries, n, adj, reach, True, NUMPY, False, None, None)
        self._last = (n, (tid,), (source._id,), reach, True, {tid: seed})
        self._sweeps += 1
        g = adj.get(source._id)
        return _unconnected_result(source, mode) if g is None else _gradient_tensor(g)

    def _seeds(self, targets: list[Tensor], output_gradients: Any) -> list[Any]:
        if output_gradients is None:
            return [None] * len(targets)
        og = list(_flatten(output_gradients))
        if len(og) != len(targets):
            raise ValueError(
                f"gradient: {len(targets)} target(s) but {len(og)} output_gradients; give "
                "one seed per target"
            )
        seeds: list[Any] = []
        for t, s in zip(targets, og, strict=True):
            if s is None:
                seeds.append(None)
                continue
            st = convert_to_tensor(s, dtype=t.dtype) if not isinstance(s, Tensor) else s
            if tuple(st.shape) != tuple(t.shape):
                raise ValueError(
                    f"gradient: output_gradients has shape {st.shape} but its target has "
                    f"shape {t.shape}; they must match"
                )
            seeds.append(st)
        return seeds

    def _sweep(
        self,
        targets: list[Tensor],
        seeds: list[Any] | None,
        sources: list[Tensor],
        mode: UnconnectedGradients,
        trace: bool,
    ) -> list[Tensor | None]:
        """The reverse sweep: adjoints from ``targets`` (seeded with ``seeds``, or ones)
        back to ``sources``.  ``trace`` keeps what the record's ``sweep`` shows."""
        entries = self._entries
        n = len(entries)
        tracked = self._tracked
        watched = self._watched
        # reach: the tracked tensors that depend on a requested source.  Every recorded op
        # has a tracked input, so when the sources cover everything watched, that is all
        # of ``tracked`` (the common case: no walk over the tape needed).
        src_ids = list(map(_id_of, sources))
        covered = len(watched) <= len(src_ids) and not self._late_watch
        src_set = set(src_ids) if len(src_ids) > 4 else src_ids
        if covered:
            for i in watched:
                if i not in src_set:
                    covered = False
                    break
        if covered:
            reach = set(tracked) if self._persistent else tracked
        else:
            reach = {i for i in src_ids if i in tracked}
            if reach:
                for e in entries:
                    for xid in e.input_ids:
                        if xid in reach:
                            reach.add(e.output_id)
                            break
        tensor_mode = False
        for t in _local.tapes:
            if t._recording:
                tensor_mode = True
                break
        k = TENSOR if tensor_mode else NUMPY
        adj: dict[int, Any] = {}
        adj_get = adj.get
        # a target that is itself a source (``r = v``, or gradient(v, v) on an empty tape):
        # its gradient is its seed, ones, whether or not the tape saw it (as TensorFlow)
        itself: set[int] = set()
        i = 0
        for t in targets:
            tid = t._id
            seed = None if seeds is None else seeds[i]
            i += 1
            if tid not in reach:
                if tid not in src_ids:
                    continue
                itself.add(tid)
            if seed is None:
                v = t._value
                s = _ONE.get(type(v))
                if s is None:
                    s = np.ones(v.shape, v.dtype) if v.shape else v.dtype.type(1)
                seed_v: Any = Tensor._wrap(s) if tensor_mode else s
            else:
                seed_v = seed if tensor_mode else seed._value
            prev = adj_get(tid)
            adj[tid] = seed_v if prev is None else prev + seed_v
        # The record shows every step's adjoints.  A numpy-mode sweep does not keep them:
        # its rules are pure functions of the recorded values, so the record replays the
        # sweep when it is asked for (holding all adjoints would double the memory of a
        # big graph).  Sweeps of tensors (higher order, tv.function) and of user
        # grad_fns (custom_gradient, which may have side effects) keep their steps.
        keep = trace and (tensor_mode or self._custom)
        seeded = dict(adj) if trace and not keep else None
        steps: list[tuple[int, Any, Any]] | None = [] if keep else None
        saved_group = None
        if tensor_mode:
            saved_group = _local.group
            _local.group = group = f"gradient of tape {self._id}"
            _note_group(group, self, targets, sources)
        quiet = None
        if self._risky or n > 32:
            quiet = np.errstate(divide="ignore", invalid="ignore", over="ignore")
            quiet.__enter__()
        try:
            # sources that are ops' outputs (not only watched tensors) keep their adjoints
            inner = None
            for i in src_ids:
                w = watched.get(i)
                if i in tracked and (w is None or type(w[0]) is not Variable):
                    inner = set(src_ids)  # (a Variable is never an op's output)
                    break
            _run_sweep(entries, n, adj, reach, covered, k, tensor_mode, steps, inner)
        finally:
            if quiet is not None:
                quiet.__exit__(None, None, None)
            if tensor_mode:
                _local.group = saved_group
        adj_get = adj.get
        results: list[Tensor | None] = []
        for s_ in sources:
            g = adj_get(s_._id)
            if g is None or (s_._id not in reach and s_._id not in itself):
                results.append(_unconnected_result(s_, mode))
            elif isinstance(g, Tensor):
                results.append(g)
            else:
                results.append(_gradient_tensor(g))
        if trace:
            self._last = (
                n,
                list(map(_id_of, targets)),
                src_ids,
                reach,
                covered,
                (steps, adj) if keep else seeded,
            )
            self._sweeps += 1
        return results

    def jacobian(
        self,
        target: Any,
        sources: Any,
        unconnected_gradients: Any = UnconnectedGradients.NONE,
        parallel_iterations: Any = None,
        experimental_use_pfor: bool = True,
    ) -> Any:
        """The full Jacobian: ``result[i..., j...] = ∂target[i...]/∂source[j...]``.

        Computed one reverse sweep per entry of ``target`` (each with a one-hot seed), so
        each row is exactly what ``gradient`` with that seed gives.  The result for each
        source has shape ``target.shape + source.shape``.
        """
        if target is None:
            raise TypeError("jacobian: `target` is None")
        mode = _unconnected(unconnected_gradients)
        self._begin_use("jacobian")
        t = _tensors([target], "target")[0]
        flat_sources, rebuild = _flatten_structure(sources)
        srcs = _tensors(flat_sources, "sources")
        out = self._jacobian(t, srcs, mode)
        self._end_use()
        return rebuild(out)

    def _jacobian(self, t: Tensor, srcs: list[Tensor], mode: UnconnectedGradients) -> list[Any]:
        tshape = tuple(t._value.shape)
        size = int(np.prod(tshape, dtype=np.int64))
        tensor_mode = any(tp._recording for tp in _local.tapes)
        rows: list[list[Any]] = []
        for i in range(size):
            seed = np.zeros(size, dtype=t._value.dtype)
            seed[i] = 1
            rows.append(
                self._sweep(
                    [t],
                    [Tensor._wrap(seed.reshape(tshape))],
                    srcs,
                    UnconnectedGradients.NONE,
                    False,
                )
            )
        from .ops.shape import reshape, stack

        results: list[Any] = []
        for j, s in enumerate(srcs):
            col = [r[j] for r in rows]
            sshape = tuple(s._value.shape)
            if all(c is None for c in col):
                if mode is UnconnectedGradients.ZERO:
                    results.append(Tensor._wrap(np.zeros(tshape + sshape, dtype=s._value.dtype)))
                else:
                    results.append(None)
                continue
            zero = np.zeros(sshape, dtype=s._value.dtype)
            if tensor_mode:
                parts = [c if c is not None else Tensor._wrap(zero) for c in col]
                results.append(reshape(stack(parts), list(tshape + sshape)))
            else:
                arr = np.stack([c._value if c is not None else zero for c in col])
                results.append(Tensor._wrap(arr.reshape(tshape + sshape)))
        return results

    def batch_jacobian(
        self,
        target: Any,
        source: Any,
        unconnected_gradients: Any = UnconnectedGradients.NONE,
        parallel_iterations: Any = None,
        experimental_use_pfor: bool = True,
    ) -> Any:
        """Per-example Jacobians: ``result[b, i..., j...] = ∂target[b, i...]/∂source[b, j...]``.

        ``target`` and ``source`` share the batch size (axis 0); examples are assumed
        independent (cross-example derivatives are not returned).
        """
        mode = _unconnected(unconnected_gradients)
        self._begin_use("batch_jacobian")
        t = _tensors([target], "target")[0]
        s = _tensors([source], "source")[0]
        if t.ndim < 1 or s.ndim < 1 or t.shape[0] != s.shape[0]:
            raise ValueError(
                f"batch_jacobian: target {t.shape} and source {s.shape} must have the same "
                "batch size in axis 0"
            )
        full = self._jacobian(t, [s], mode)[0]
        self._end_use()
        if full is None:
            return None
        b = t.shape[0]
        tr = t.ndim - 1
        if isinstance(full, Tensor) and not any(tp._recording for tp in _local.tapes):
            v = full._value
            return Tensor._wrap(np.stack([v[(i,) + (slice(None),) * tr + (i,)] for i in range(b)]))
        from .ops.shape import stack

        return stack([full[(i,) + (slice(None),) * tr + (i,)] for i in range(b)])

    # -- the public record -------------------------------------------------------------------
    def record(self) -> Record:
        """The read-only :class:`~tapeviz.graph.Record` of what this tape saw.

        Nodes are labelled with the names the calling code bound the tensors to (looked up
        in its local and global variables now), unless they were given a ``name=``.
        """
        from . import _record_builder as _rb  # (loaded with the first record)

        # rebuilt when something was recorded, watched or swept since the last call; the
        # labels again when the caller's names for the tensors on it changed
        stamp = (len(self._entries), len(self._watched), self._sweeps)
        data = self._record_data
        if data is None or self._record_stamp != stamp:
            data = self._record_data = _rb.RecordData(self)
            self._record_stamp = stamp
            self._record_cache = None
        tensors, tapes = _rb.user_names()
        local_id = data.local_id
        names = {tid: name for tid, name in tensors.items() if tid in local_id}
        inner = {ref._id for ref in data.inner_tapes()}  # the tapes its groups name
        tapes = {tid: name for tid, name in tapes.items() if tid in inner}
        cached = self._record_cache
        if cached is None or self._record_names != (names, tapes):
            cached = self._record_cache = _rb.RecordView(data, names, tapes).record()
            self._record_names = (names, tapes)
        return cached

    def __repr__(self) -> str:
        state = "recording" if self._recording else "stopped"
        return (
            f"<tv.GradientTape #{self._id} {state}, {len(self._entries)} ops recorded, "
            f"persistent={self._persistent}>"
        )


# ops (tapeviz.ops._registry.apply) tell a GradientTape first on the tape stack from
# tv.function's marker by its type
_registry._TapeClass = GradientTape


# --- helpers -----------------------------------------------------------------------------------
# Who ran each traced sweep recorded by an outer tape: group key -> [(target ids, source
# ids, weak reference to the inner tape)], for the titles of the record's groups
# (tapeviz._record_builder reads it).  Only the most recent groups are kept.
GROUP_SWEEPS: collections.OrderedDict[str, list[tuple[tuple[int, ...], tuple[int, ...], Any]]]
GROUP_SWEEPS = collections.OrderedDict()
_GROUPS_KEPT = 256


def _note_group(group: str, tape: GradientTape, targets: list[Tensor], sources: list[Any]) -> None:
    # (each step is one call into C, safe when threads sweep at once)
    sweeps = GROUP_SWEEPS.pop(group, [])  # re-inserted: the most recent come last
    key = (tuple([t._id for t in targets]), tuple([s._id for s in sources]), weakref.ref(tape))
    if all(s[:2] != key[:2] for s in sweeps) and len(sweeps) < 8:
        sweeps.append(key)
    GROUP_SWEEPS[group] = sweeps
    if len(GROUP_SWEEPS) > _GROUPS_KEPT:
        with contextlib.suppress(KeyError):
            GROUP_SWEEPS.popitem(last=False)


def _run_sweep(
    entries: list[TapeEntry],
    n: int,
    adj: dict[int, Any],
    reach: Container[int],
    covered: bool,
    k: Backend,
    tensor_mode: bool,
    steps: list[tuple[int, Any, Any]] | None,
    keep: Container[int] | bool | None = None,
) -> None:
    """The reverse sweep over ``entries[:n]``: adjoints in ``adj`` (seeded with the
    targets') flow back through each op's VJP rule to the tensors in ``reach``.

    ``steps``, if a list, receives ``(entry index, adjoint, rule's result)`` per step, and
    ``adj`` then keeps every adjoint (as it does with ``keep=True``); otherwise only those
    of the ids in ``keep`` (the sources) stay in ``adj``."""
    # an op's output adjoint is complete when the sweep reaches the op: unless the record
    # keeps it or it is asked for, let it go (a big graph then holds few adjoints at once)
    take: Callable[[int, Any], Any]
    if steps is not None or keep is True:
        take = adj.get
    elif keep:
        adj_get = adj.get
        pop = adj.pop
        sources = keep

        def take(i: int, default: Any) -> Any:
            return adj_get(i) if i in sources else pop(i, default)

    else:
        take = adj.pop

    for idx in range(n - 1, -1, -1):  # the equations, last first
        e = entries[idx]
        g = take(e.output_id, None)  # ∂L/∂out: complete, as every use of out came later
        if g is None:
            continue  # out does not lead to a target
        op = e.op
        rule = op.vjp
        assert rule is not None  # (an op without a VJP rule is never recorded)
        if tensor_mode:  # higher order: the rule runs on tensors an outer tape records
            vals: Sequence[Any] = _tensors_of(e)
            out = _revive(e.output_value, e.output_id, e.output_name)
        else:
            vals, out = e.input_values, e.output_value
        attrs = e.attrs
        ids = e.input_ids
        # (an op of two inputs without attrs, most of a training loop's, is served by
        # straight-line code: its inputs passed one by one (after k, g, out, `*vals` makes
        # Python build a new argument tuple, and with `needs=` a dict) and its two
        # contributions summed without a loop)
        if len(ids) == 2 and not attrs:
            if op.takes_needs:
                needs = e.needs if covered else (ids[0] in reach, ids[1] in reach)
                grads = rule(k, g, out, vals[0], vals[1], needs=needs)
            else:
                grads = rule(k, g, out, vals[0], vals[1])
            g0, g1 = grads
            x0, x1 = ids
            if g0 is not None and x0 in reach:  # (else: no gradient, or leads to no source)
                adj[x0] = adj[x0] + g0 if x0 in adj else g0  # a value used twice: sum
            if g1 is not None and x1 in reach:
                adj[x1] = adj[x1] + g1 if x1 in adj else g1
        else:
            if op.takes_needs:
                needs = e.needs if covered else tuple([i in reach for i in ids])
                grads = rule(k, g, out, *vals, needs=needs, **attrs)
            elif attrs:
                grads = rule(k, g, out, *vals, **attrs)
            elif len(ids) == 1:
                grads = rule(k, g, out, vals[0])
            else:
                grads = rule(k, g, out, *vals)
            for xid, gi in zip(ids, grads):  # noqa: B905 (hot loop)
                if gi is not None and xid in reach:
                    adj[xid] = adj[xid] + gi if xid in adj else gi
        if steps is not None:
            steps.append((idx, g, grads))


def _gradient_tensor(g: Any) -> Tensor:
    """The Tensor of a numpy sweep's gradient ``g`` (rank 0 as a numpy scalar)."""
    if type(g) is np.ndarray and not g.ndim:
        g = g[()]
    r: Tensor = _new(Tensor)
    r._value = g
    r._id = _next_id()
    r._name = None
    return r


def _unconnected_result(source: Tensor, mode: UnconnectedGradients) -> Tensor | None:
    """The gradient of a source the target does not depend on: None, or zeros."""
    if mode is UnconnectedGradients.ZERO:
        return Tensor._wrap(np.zeros_like(source._value))
    return None


class _Kept:
    """What a used non-persistent tape keeps of a tensor: its id, value and name."""

    __slots__ = ("_id", "_value", "_name")

    def __init__(self, t: Tensor) -> None:
        self._id = t._id
        self._value = t._value
        self._name = t._name


def _revive(value: Any, tid: int, name: str | None) -> Tensor:
    """A Tensor standing for a recorded one: same id, value and name, so that a tape that
    recorded the original connects what is computed from this one (higher order)."""
    cls: type[Tensor] = Tensor
    if not isinstance(value, np.ndarray | np.generic):
        # inside tv.function recorded values are the tracer's placeholders
        tracer = _local.tracer
        if tracer is None:
            raise RuntimeError(
                "this tape recorded ops while tv.function traced; differentiate with it "
                "inside that function"
            )
        cls = tracer.symbolic_tensor
    t: Tensor = _new(cls)
    t._value = value
    t._id = tid
    t._name = name
    return t


def _tensors_of(e: TapeEntry) -> list[Tensor]:
    """The inputs of entry ``e`` as tensors, for a VJP rule that runs on the TENSOR backend.

    A Variable whose value has not changed since the op ran is passed itself; one that
    has been assigned since gives its old value under the Variable's id — as TensorFlow's
    read of the variable, it stays connected to the Variable for an outer tape."""
    out: list[Tensor] = []
    for x, v, xid in zip(e.inputs, e.input_values, e.input_ids, strict=True):
        if isinstance(x, Variable):
            out.append(x if x._value is v else _revive(v, xid, x._vname))
        else:
            out.append(_revive(v, xid, x))
    return out


def _unconnected(value: object) -> UnconnectedGradients:
    if isinstance(value, UnconnectedGradients):
        return value
    try:
        return UnconnectedGradients(str(value).lower())
    except ValueError:
        raise ValueError(
            "unconnected_gradients must be 'none' or 'zero' (tv.UnconnectedGradients), "
            f"got {value!r}"
        ) from None


def _flatten(x: Any) -> Iterator[Any]:
    if isinstance(x, list | tuple):
        for v in x:
            yield from _flatten(v)
    elif isinstance(x, dict):
        for key in sorted(x, key=str):
            yield from _flatten(x[key])
    else:
        yield x


def _flatten_structure(x: Any) -> tuple[list[Any], Any]:
    """Flatten a nested list/tuple/dict; return the leaves and a function that rebuilds it."""
    leaves: list[Any] = []

    def walk(v: Any) -> Any:
        if isinstance(v, list | tuple):
            shape = [walk(e) for e in v]
            return (type(v), shape)
        if isinstance(v, dict):
            # leaves in sorted key order (as tf.nest); the result keeps the caller's order
            order = {k: walk(v[k]) for k in sorted(v, key=str)}
            return (dict, [(k, order[k]) for k in v])
        leaves.append(v)
        return len(leaves) - 1

    spec = walk(x)

    def build(values: list[Any], s: Any = spec) -> Any:
        if isinstance(s, int):
            return values[s]
        kind, parts = s
        if kind is dict:
            return {k: build(values, p) for k, p in parts}
        items = [build(values, p) for p in parts]
        return tuple(items) if kind is tuple else items

    return leaves, build


def _tensors(items: Iterable[object], what: str) -> list[Tensor]:
    out = []
    for t in items:
        if not isinstance(t, Tensor):
            hint = (
                " — a numpy value: numpy code is invisible to the tape; compute it with "
                "tapeviz ops (tv.sin, tv.reduce_mean, ...) inside the tape"
                if isinstance(t, np.ndarray | np.generic)
                else ""
            )
            raise TypeError(
                f"gradient: each of the {what} must be a tv.Tensor or tv.Variable, got "
                f"{type(t).__name__} ({t!r}){hint}"
            )
        out.append(t)
    return out
