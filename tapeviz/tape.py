"""``GradientTape``: record ops, then run the reverse sweep over the record.

The tape is a list of entries in execution order, one per recorded op::

    (op, inputs, input_values, output_value, attrs, (scope, group),
     input_ids, output_id, output_name, needs)

where ``inputs`` holds, per input, the Variable itself or the tensor's name — never the
Tensor objects, which the tape therefore does not keep alive — and ``needs`` says which
inputs were tracked when the op ran.

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

import array
import collections
import contextlib
import enum
import operator
import os
import re
import sys
import types
import warnings
import weakref
from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Any

import numpy as np

from . import _state
from .graph import FrozenSequence, Node, Record, SweepStep, format_value
from .ops._registry import NUMPY, TENSOR, Op, sanitize_attrs
from .tensor import Tensor, Variable, convert_to_tensor

__all__ = ["GradientTape", "UnconnectedGradients", "tape_of"]

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


def tape_of(tensor: Any) -> GradientTape | None:
    """The most recent live tape that recorded ``tensor`` (as an op output or a source)."""
    tid = getattr(tensor, "_id", None)
    for ref in reversed(_recent):
        tape = ref()
        if tape is None:
            continue
        if tid in tape._watched or any(e[7] == tid for e in tape._entries):
            return tape
    return None


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
    _used = False
    _last: tuple[Any, ...] | None = None
    _record_cache: Record | None = None
    _record_data: _RecordData | None = None
    _record_names: tuple[dict[int, str], dict[int, str]] | None = None
    _record_stamp: tuple[int, int, int] = (0, 0, 0)
    _sweeps = 0  # traced sweeps so far (part of the record's cache stamp)
    # set while recording: an op whose numbers may warn (the sweep then silences numpy as
    # TensorFlow is silent), and whether custom_gradient closures are on the tape
    _risky = False
    _custom = False
    _late_watch = False  # a tensor was watched explicitly after ops were recorded
    _numpy_warned = False  # numpy code ran on a tensor while it recorded (warned once)
    _entered = False  # its `with` block has begun (stop_recording's two errors differ)

    def __init__(self, persistent: bool = False, watch_accessed_variables: bool = True) -> None:
        self._persistent = persistent is not False and bool(persistent)
        self._watch_accessed = watch_accessed_variables is True or bool(watch_accessed_variables)
        self._id = _next_tape_id()
        self._entries: list[tuple[Any, ...]] = []
        self._tracked: set[int] = set()
        # id -> (Variable or _Kept, number of entries recorded when it was watched)
        self._watched: dict[int, tuple[Any, float, Any]] = {}

    # -- context management ----------------------------------------------------------------
    def __enter__(self) -> GradientTape:
        if self._used:
            raise RuntimeError(NON_PERSISTENT_MSG + "; this tape was already used")
        _local.tapes.append(self)
        self._recording = True
        self._entered = True
        _recent.append(weakref.ref(self))
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        tapes = _local.tapes
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

    def _maybe_record(self, op: Op, xs: Any, vals: Any, out: Tensor, attrs: dict[str, Any]) -> None:
        """Called by every op while this tape records.

        An op is recorded when one of its inputs is tracked (watched, or computed from a
        watched tensor); trainable float Variables it reads are watched on the way.
        """
        if len(xs) == 2 and not attrs:
            self._record2(op, xs[0], xs[1], vals[0], vals[1], out)
            return
        tracked = self._tracked
        flags = []
        for x in xs:
            flags.append(x._id in tracked or (type(x) is Variable and self._auto_watch(x)))
        if True not in flags:
            return
        value = out._value
        if type(value) not in _FLOAT_SCALARS and value.dtype.kind not in "fc":
            return  # an int or bool result carries no gradient
        vals = vals if type(vals) is tuple else tuple(vals)
        self._append(
            op,
            tuple([x if type(x) is Variable else x._name for x in xs]),
            vals,
            out,
            attrs,
            tuple(map(_id_of, xs)),
            tuple(flags),
        )

    def _record2(self, op: Op, x: Any, y: Any, xv: Any, yv: Any, out: Tensor) -> None:
        """:meth:`_maybe_record` for a binary op without attrs (the hot path)."""
        tracked = self._tracked
        xid = x._id
        yid = y._id
        nx = xid in tracked or (type(x) is Variable and self._auto_watch(x))
        ny = yid in tracked or (type(y) is Variable and self._auto_watch(y))
        if not (nx or ny):
            return
        value = out._value
        if type(value) not in _FLOAT_SCALARS and value.dtype.kind not in "fc":
            return
        out_id = out._id
        tracked.add(out_id)
        warn = op.may_warn
        if warn and (warn is True or warn(xv, yv)):
            self._risky = True
        self._entries.append(
            (
                op,
                (x if type(x) is Variable else x._name, y if type(y) is Variable else y._name),
                (xv, yv),
                value,
                _NO_ATTRS,
                _local.where,
                (xid, yid),
                out_id,
                out._name,
                (nx, ny),
            )
        )

    def _append(
        self,
        op: Op,
        xin: tuple[Any, ...],
        vals: tuple[Any, ...],
        out: Tensor,
        attrs: dict[str, Any],
        ids: tuple[int, ...],
        needs: tuple[bool, ...],
    ) -> None:
        out_id = out._id
        self._tracked.add(out_id)
        warn = op.may_warn
        if warn and (warn is True or warn(*vals)):
            self._risky = True
        self._entries.append(
            (
                op,
                xin,
                vals,
                out._value,
                attrs,
                _local.where,
                ids,
                out_id,
                out._name,
                needs,
            )
        )

    def _auto_watch(self, v: Variable) -> bool:
        """Watch a Variable read by an op, as TensorFlow does for trainable float ones."""
        if self._watch_accessed and v._trainable and v._value.dtype.kind in "fc":
            self._watch(v)
            return True
        return False

    def _record_custom(self, op: Op, xs: Any, out: Tensor, attrs: dict[str, Any]) -> None:
        self._custom = True
        self._maybe_record(op, xs, [x._value for x in xs], out, attrs)

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
            e[:4] + (sanitize_attrs(e[4]),) + e[5:] if e[0].name == "custom_gradient" else e
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
        targets = [target] if isinstance(target, Tensor) else _tensors(_flatten(target), "target")
        if isinstance(sources, Tensor):  # the common case, without structure handling
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
                    for xid in e[6]:
                        if xid in reach:
                            reach.add(e[7])
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
                if mode is UnconnectedGradients.ZERO:
                    results.append(Tensor._wrap(np.zeros_like(s_._value)))
                else:
                    results.append(None)
            elif isinstance(g, Tensor):
                results.append(g)
            else:
                if type(g) is np.ndarray and not g.ndim:
                    g = g[()]
                r = _new(Tensor)
                r._value = g
                r._id = _next_id()
                r._name = None
                results.append(r)
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
        # rebuilt when something was recorded, watched or swept since the last call; the
        # labels again when the caller's names for the tensors on it changed
        stamp = (len(self._entries), len(self._watched), self._sweeps)
        data = self._record_data
        if data is None or self._record_stamp != stamp:
            data = self._record_data = _RecordData(self)
            self._record_stamp = stamp
            self._record_cache = None
        tensors, tapes = _user_names()
        local_id = data.local_id
        names = {tid: name for tid, name in tensors.items() if tid in local_id}
        inner = {ref._id for ref in data.inner_tapes()}  # the tapes its groups name
        tapes = {tid: name for tid, name in tapes.items() if tid in inner}
        cached = self._record_cache
        if cached is None or self._record_names != (names, tapes):
            cached = self._record_cache = _RecordView(data, names, tapes).record()
            self._record_names = (names, tapes)
        return cached

    def __repr__(self) -> str:
        state = "recording" if self._recording else "stopped"
        return (
            f"<tv.GradientTape #{self._id} {state}, {len(self._entries)} ops recorded, "
            f"persistent={self._persistent}>"
        )


# --- helpers -----------------------------------------------------------------------------------
def _run_sweep(
    entries: list[tuple[Any, ...]],
    n: int,
    adj: dict[int, Any],
    reach: Any,
    covered: bool,
    k: Any,
    tensor_mode: bool,
    steps: list[tuple[int, Any, Any]] | None,
    keep: Any = (),
) -> None:
    """The reverse sweep over ``entries[:n]``: adjoints in ``adj`` (seeded with the
    targets') flow back through each op's VJP rule to the tensors in ``reach``.

    ``steps``, if a list, receives ``(entry index, adjoint, rule's result)`` per step, and
    ``adj`` then keeps every adjoint (as it does with ``keep=True``); otherwise only those
    of the ids in ``keep`` (the sources) stay in ``adj``."""
    adj_get = adj.get
    # an op's output adjoint is complete when the sweep reaches the op: unless the record
    # keeps it or it is asked for, let it go (a big graph then holds few adjoints at once)
    take: Any = adj_get if steps is not None or keep is True else adj.pop
    if keep and keep is not True and steps is None:
        pop = adj.pop

        def take(i: int, default: Any) -> Any:
            return adj_get(i) if i in keep else pop(i, default)

    for idx in range(n - 1, -1, -1):
        e = entries[idx]
        g = take(e[7], None)
        if g is None:
            continue
        op, _, vals, out, attrs, _, ids, _, _, needs = e
        if tensor_mode:
            vals = _tensors_of(e)
            out = _revive(out, e[7], e[8])
        if op.takes_needs:
            if not covered:
                needs = tuple([i in reach for i in ids])
            if attrs:
                grads = op.vjp(k, g, out, *vals, needs=needs, **attrs)
            else:
                grads = op.vjp(k, g, out, *vals, needs=needs)
        elif attrs:
            grads = op.vjp(k, g, out, *vals, **attrs)
        else:
            grads = op.vjp(k, g, out, *vals)
        for xid, gi in zip(ids, grads):  # noqa: B905 (hot loop)
            if gi is None or xid not in reach:
                continue
            prev = adj_get(xid)
            adj[xid] = gi if prev is None else prev + gi
        if steps is not None:
            steps.append((idx, g, grads))


class _Kept:
    """What a used non-persistent tape keeps of a tensor: its id, value and name."""

    __slots__ = ("_id", "_value", "_name")

    def __init__(self, t: Any) -> None:
        self._id = t._id
        self._value = t._value
        self._name = t._name


def _revive(value: Any, tid: int, name: str | None) -> Tensor:
    """A Tensor standing for a recorded one: same id, value and name, so that a tape that
    recorded the original connects what is computed from this one (higher order)."""
    cls: type[Tensor] = Tensor if isinstance(value, np.ndarray | np.generic) else _symbolic_class()
    t: Tensor = object.__new__(cls)
    t._value = value
    t._id = tid
    t._name = name
    return t


def _symbolic_class() -> type[Tensor]:
    # inside tv.function recorded values are placeholders of the tracer
    from .compiler.tracer import SymbolicTensor

    return SymbolicTensor


def _tensors_of(e: tuple[Any, ...]) -> list[Tensor]:
    """The inputs of entry ``e`` as tensors, for a VJP rule that runs on the TENSOR backend.

    A Variable whose value has not changed since the op ran is passed itself; one that
    has been assigned since gives its old value under the Variable's id — as TensorFlow's
    read of the variable, it stays connected to the Variable for an outer tape."""
    out: list[Tensor] = []
    for x, v, xid in zip(e[1], e[2], e[6], strict=True):
        if type(x) is Variable:
            out.append(x if x._value is v else _revive(v, xid, x._vname))
        else:
            out.append(_revive(v, xid, x))
    return out


def _unconnected(value: Any) -> UnconnectedGradients:
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


def _tensors(items: Any, what: str) -> list[Tensor]:
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


# --- the public record -------------------------------------------------------------------------
#
# tape.record() is built in two layers, both lazy enough for a million-op tape:
#
# * _RecordData (one per state of the tape: entries, watches, sweeps) numbers the values in
#   forward order, replays the last sweep's adjoints when the sweep did not keep them, and
#   makes a node or a sweep step only when the record's reader asks for it;
# * _RecordView (one per set of user names) gives each node its label — the name the
#   user's code bound the tensor to, found in the caller's variables when record() runs —
#   and writes the formulas with those labels.


# tapeviz's own code: frames of files in this package (doctests, which run with a tapeviz
# module's globals, are user code)
_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep


def _user_names() -> tuple[dict[int, str], dict[int, str]]:
    """The Python names the user's code bound tensors and tapes to, by their ids.

    Walks out of tapeviz's own frames to the first frame of user code (a notebook cell, a
    test, a script) and looks in its local variables, then its global ones (a notebook's
    namespace); then, for what is still unnamed, in the frames that called it (a helper
    function called from a notebook cell).  Names starting with ``_`` (IPython's ``_``,
    ``_5``...) are skipped.  Returns (tensor id -> name, tape id -> name); the innermost
    binding wins.
    """
    tensors: dict[int, str] = {}
    tapes: dict[int, str] = {}
    seen: dict[int, Any] = {}  # namespaces already read (kept, so their ids stay theirs)
    frame: types.FrameType | None = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_filename.startswith(_PACKAGE):
            frame = frame.f_back
            continue
        spaces = [frame.f_globals]
        if frame.f_code.co_flags & _CO_NEWLOCALS:  # a function: its locals come first
            spaces.insert(0, frame.f_locals)
        for space in spaces:
            if id(space) in seen:
                continue
            seen[id(space)] = space
            for name, value in list(space.items()):
                if not isinstance(name, str) or name[:1] == "_":
                    continue
                kind = type(value)  # not isinstance: a proxy's __class__ may run code
                if issubclass(kind, Tensor):
                    tensors.setdefault(value._id, name)
                elif issubclass(kind, GradientTape):
                    tapes.setdefault(value._id, name)
        frame = frame.f_back
    return tensors, tapes


_CO_NEWLOCALS = 0x0002  # inspect.CO_NEWLOCALS, without importing inspect
_DTYPE_NAMES: dict[Any, str] = {}


def _dtype_name(value: Any) -> str:
    dtype = getattr(value, "dtype", None)
    if dtype is None:
        dtype = np.asarray(value).dtype
    name = _DTYPE_NAMES.get(dtype)
    if name is None:
        name = _DTYPE_NAMES[dtype] = dtype.name
    return name


def _source_name(t: Any) -> tuple[str | None, bool]:
    """A source's name without ``:0``, and whether the user gave it (``name=``).

    A Variable created without a name is called ``Variable`` (TensorFlow's default): a name
    of last resort, which the name the code bound it to replaces.
    """
    if isinstance(t, Variable):
        base = t.name.split(":")[0]
        return base, base.rsplit("/", 1)[-1] != "Variable"
    name = getattr(t, "_name", t)
    return (name.split(":")[0], True) if isinstance(name, str) and name else (None, False)


# Who ran each traced sweep recorded by an outer tape: group key -> [(target ids, source
# ids, weak reference to the inner tape)], for the titles of the record's groups.  Only the
# most recent groups are kept.
_GROUP_SWEEPS: collections.OrderedDict[str, list[tuple[tuple[int, ...], tuple[int, ...], Any]]]
_GROUP_SWEEPS = collections.OrderedDict()
_GROUPS_KEPT = 256


def _note_group(group: str, tape: GradientTape, targets: list[Tensor], sources: list[Any]) -> None:
    # (each step is one call into C, safe when threads sweep at once)
    sweeps = _GROUP_SWEEPS.pop(group, [])  # re-inserted: the most recent come last
    key = (tuple(map(_id_of, targets)), tuple(map(_id_of, sources)), weakref.ref(tape))
    if all(s[:2] != key[:2] for s in sweeps) and len(sweeps) < 8:
        sweeps.append(key)
    _GROUP_SWEEPS[group] = sweeps
    if len(_GROUP_SWEEPS) > _GROUPS_KEPT:
        with contextlib.suppress(KeyError):
            _GROUP_SWEEPS.popitem(last=False)


class _RecordData:
    """Everything a record of one state of the tape needs, without the user's names.

    Holds the tape's entries list (never the tape: a tape makes no reference cycles), the
    node number of every tensor id, and the replayed adjoints of the last sweep.
    """

    def __init__(self, tape: GradientTape) -> None:
        entries = tape._entries
        self.entries = entries
        self.tape_id = tape._id
        watched = tape._watched
        self.watched_ids = frozenset(watched)
        local_id: dict[int, int] = {}
        tids: list[int] = []  # per node: the id of its tensor
        # per node: the index of its entry (op nodes), or -1 - k for the k-th source
        where = array.array("q")
        sources: list[tuple[Any, Any]] = []  # (Variable, _Kept or input name; value)
        self.explicit: dict[int, str] = {}  # node -> name given by the user
        self.defaults: dict[int, str] = {}  # node -> "Variable" (unnamed Variables)
        groups: dict[str, None] = {}

        def add_source(tid: int, t: Any, value: Any) -> None:
            nid = len(where)
            local_id[tid] = nid
            tids.append(tid)
            where.append(-1 - len(sources))
            sources.append((t, value))
            name, given = _source_name(t)
            if name is not None:
                (self.explicit if given else self.defaults)[nid] = name

        watched_order = sorted(watched.values(), key=lambda p: p[1])
        wi = 0
        n_watched = len(watched_order)
        for idx, e in enumerate(entries):
            while wi < n_watched and watched_order[wi][1] < idx:
                wt, _, wv = watched_order[wi]
                if wt._id not in local_id:
                    add_source(wt._id, wt, wv)
                wi += 1
            for xid, x, v in zip(e[6], e[1], e[2], strict=True):
                if xid not in local_id:
                    add_source(xid, x, v)
            nid = len(where)
            local_id[e[7]] = nid
            tids.append(e[7])
            where.append(idx)
            if e[8]:
                self.explicit[nid] = e[8].split(":")[0]
            group = e[5][1]
            if group is not None:
                groups[group] = None
        for wt, _, wv in watched_order[wi:]:
            if wt._id not in local_id:
                add_source(wt._id, wt, wv)
        self.local_id = local_id
        self.where = where
        self.sources = sources
        self.groups = tuple(groups)
        self.tensor_ids = tuple(tids)
        # the last sweep: its steps (entry indices, in sweep order) and every adjoint
        self.order = array.array("q")
        self.kept_steps: dict[int, tuple[Any, Any]] = {}  # entry index -> (g, grads)
        self.adj: dict[int, Any] = {}
        self.targets: tuple[int, ...] = ()
        self.source_ids: tuple[int, ...] = ()
        if tape._last is not None:
            self._replay(tape._last)

    def _replay(self, last: tuple[Any, ...]) -> None:
        n, t_ids, s_ids, reach, covered, kept = last
        local_id = self.local_id
        self.reach, self.covered = reach, covered
        self.targets = tuple(local_id[i] for i in t_ids if i in local_id)
        self.source_ids = tuple(local_id[i] for i in s_ids if i in local_id)
        entries = self.entries
        if isinstance(kept, tuple):  # the sweep kept its steps (tensors, or custom grad_fns)
            steps, adj = kept
            self.order = array.array("q", [idx for idx, _, _ in steps])
            self.kept_steps = {idx: (g, grads) for idx, g, grads in steps}
        else:
            # replay on numpy, keeping every adjoint but no steps: a step's contributions
            # are worked out again (a pure function of the recorded values) when it is read
            adj = dict(kept)
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                _run_sweep(entries, n, adj, reach, covered, NUMPY, False, None, True)
            self.order = array.array("q", (i for i in range(n - 1, -1, -1) if entries[i][7] in adj))
        self.adj = adj

    def inner_tapes(self) -> list[GradientTape]:
        """The live tapes whose sweeps this tape recorded (its groups)."""
        out = []
        for group in self.groups:
            for _, _, ref in _GROUP_SWEEPS.get(group, ()):
                inner = ref()
                if inner is not None:
                    out.append(inner)
        return out

    # -- nodes -----------------------------------------------------------------------------
    def node(self, nid: int, label: str) -> Node:
        k = self.where[nid]
        if k < 0:
            t, value = self.sources[-1 - k]
            is_var = isinstance(t, Variable)
            return Node(
                id=nid,
                kind="variable" if is_var else "constant",
                op=None,
                inputs=(),
                shape=tuple(np.shape(value)),
                dtype=_dtype_name(value),
                value=_frozen(value),
                name=t.name if is_var else getattr(t, "_name", t),
                watched=self.tensor_ids[nid] in self.watched_ids,
                label=label,
            )
        op, _, _, out_value, attrs, (scope, group), ids, out_id, out_name, _ = self.entries[k]
        local_id = self.local_id
        return Node(
            id=nid,
            kind="op",
            op=op.name,
            inputs=tuple([local_id[xid] for xid in ids]),
            shape=tuple(np.shape(out_value)),
            dtype=_dtype_name(out_value),
            value=_frozen(out_value),
            name=out_name,
            watched=out_id in self.watched_ids,
            symbol=op.symbol,
            attrs=MappingProxyType(sanitize_attrs(attrs)) if attrs else _NO_ATTRS_VIEW,
            scope=scope.rstrip("/"),
            group=group,
            label=label,
        )

    def auto_label(self, nid: int) -> str:
        """The short symbol of a node nobody named: ``t7``, ``2`` (a scalar), ``c5``."""
        k = self.where[nid]
        if k >= 0:
            return f"t{nid}"
        value = self.sources[-1 - k][1]
        return format_value(value) if np.ndim(value) == 0 else f"c{nid}"

    def is_constant(self, nid: int) -> bool:
        k = self.where[nid]
        return k < 0 and not isinstance(self.sources[-1 - k][0], Variable)

    # -- sweep steps -----------------------------------------------------------------------
    def step(self, k: int) -> tuple[tuple[Any, ...], Any, list[tuple[int, Any]]]:
        """Entry, adjoint and contributions ``[(input id, part)]`` of sweep step ``k``."""
        idx = self.order[k]
        e = self.entries[idx]
        kept = self.kept_steps.get(idx)
        if kept is not None:
            g, grads = kept
        else:
            g = self.adj[e[7]]
            steps: list[tuple[int, Any, Any]] = []
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                _run_sweep([e], 1, {e[7]: g}, self.reach, self.covered, NUMPY, False, steps)
            grads = steps[0][2]
        reach = self.reach
        # what the VJP sent to inputs that lead back to a source, in input order
        contrib = [
            (xid, c)
            for xid, c in zip(e[6], grads)  # noqa: B905 (grads may be longer)
            if c is not None and xid in reach
        ]
        return e, g, contrib


_NO_ATTRS_VIEW: Any = MappingProxyType({})


class _RecordView:
    """A record of one _RecordData with the labels of one set of user names."""

    def __init__(self, data: _RecordData, names: dict[int, str], tapes: dict[int, str]) -> None:
        self.data = data
        self.names = names
        local_id = data.local_id
        # explicit names win over the names the code bound, which win over "Variable"
        named = dict(data.defaults)
        named.update({local_id[tid]: name for tid, name in names.items() if tid in local_id})
        named.update(data.explicit)
        counts: dict[str, int] = {}
        for text in named.values():
            counts[text] = counts.get(text, 0) + 1
        for nid, text in named.items():
            if data.is_constant(nid):
                continue
            clash = counts[text] > 1
            if not clash and text[:1] in "tc" and text[1:].isdigit():  # like a short symbol
                other = int(text[1:])
                clash = other != nid and other < len(data.where) and other not in named
            if clash:
                named[nid] = f"{text}#{nid}"
        self.named = named
        self.tape_names = tapes

    def label(self, nid: int) -> str:
        text = self.named.get(nid)
        return text if text is not None else self.data.auto_label(nid)

    def node(self, nid: int) -> Node:
        return self.data.node(nid, self.label(nid))

    def sweep_step(self, k: int) -> SweepStep:
        data = self.data
        e, g, contrib = data.step(k)
        local_id = data.local_id
        summed: dict[int, Any] = {}
        for xid, c in contrib:  # an input used twice (x * x) receives both parts
            nid = local_id[xid]
            summed[nid] = _val(c) if nid not in summed else summed[nid] + _val(c)
        gv = _val(g)
        return SweepStep(
            node=local_id[e[7]],
            adjoint=_frozen(gv),
            contributions=MappingProxyType({nid: _frozen(v) for nid, v in summed.items()}),
            formula=_formula(e, gv, contrib, local_id, self.label),
        )

    def group_titles(self) -> dict[str, str]:
        """A title for each group: which gradient its ops computed, in the user's names."""
        titles = {}
        for group in self.data.groups:
            parts = []
            tape_name = None
            for t_ids, s_ids, ref in _GROUP_SWEEPS.get(group, ()):
                parts.append(f"∂{self._names_of(t_ids)}/∂{self._names_of(s_ids)}")
                inner = ref()
                if inner is not None:
                    tape_name = self.tape_names.get(inner._id, tape_name)
            title = "gradient " + ", ".join(parts) if parts else "gradient"
            if tape_name is not None:
                title += f" by {tape_name}"
            elif not parts:  # too long ago to be known
                title = "gradient, by an inner tape"
            titles[group] = title
        return titles

    def _names_of(self, tids: tuple[int, ...]) -> str:
        local_id = self.data.local_id
        labels = [
            self.label(local_id[t]) if t in local_id else self.names.get(t, "?") for t in tids
        ]
        if len(labels) > 3:
            labels = labels[:2] + [f"… {len(labels) - 2} more"]
        return labels[0] if len(labels) == 1 else "(" + ", ".join(labels) + ")"

    def record(self) -> Record:
        data = self.data
        nodes = FrozenSequence(len(data.where), self.node)
        sweep = _Steps(len(data.order), self.sweep_step)
        sweep.node_ids = _EntryNodes(data.order, data.entries, data.local_id)
        return Record(
            nodes=nodes,
            sweep=sweep,
            targets=data.targets,
            sources=data.source_ids,
            gradients=_Gradients(data),
            tape_id=data.tape_id,
            tensor_ids=data.tensor_ids,
            groups=MappingProxyType(self.group_titles()),
        )


class _Steps(FrozenSequence[SweepStep]):
    """The record's sweep; ``node_ids`` gives each step's node without making the step."""

    __slots__ = ("node_ids",)
    node_ids: Any


class _EntryNodes:
    """The node of each sweep step, worked out when read."""

    __slots__ = ("_order", "_local_id", "_entries")

    def __init__(self, order: Any, entries: Any, local_id: dict[int, int]) -> None:
        self._order = order
        self._entries = entries
        self._local_id = local_id

    def __iter__(self) -> Iterator[int]:
        entries, local_id = self._entries, self._local_id
        return (local_id[entries[i][7]] for i in self._order)

    def __len__(self) -> int:
        return len(self._order)


class _Gradients(Mapping[int, np.ndarray]):
    """Final adjoint of every node the sweep reached, made read-only when first read."""

    def __init__(self, data: _RecordData) -> None:
        self._adj = data.adj
        self._tids = data.tensor_ids
        local_id = data.local_id
        self._ids = sorted(local_id[t] for t in data.adj if t in local_id)
        self._made: dict[int, np.ndarray] = {}

    def __getitem__(self, nid: int) -> np.ndarray:
        arr = self._made.get(nid)
        if arr is None:
            if not (isinstance(nid, int) and 0 <= nid < len(self._tids)):
                raise KeyError(nid)
            arr = self._made[nid] = _frozen(_val(self._adj[self._tids[nid]]))
        return arr

    def __contains__(self, nid: object) -> bool:
        return isinstance(nid, int) and 0 <= nid < len(self._tids) and self._tids[nid] in self._adj

    def __iter__(self) -> Iterator[int]:
        return iter(self._ids)

    def __len__(self) -> int:
        return len(self._ids)

    def __repr__(self) -> str:
        return repr(dict(self))


def _val(x: Any) -> Any:
    return x._value if isinstance(x, Tensor) else x


def _frozen(value: Any) -> np.ndarray:
    if type(value) is np.ndarray and not value.flags.writeable and value.base is None:
        return value  # already a read-only array nobody can change (a Variable's value)
    arr = np.array(value, copy=True)
    arr.flags.writeable = False
    return arr


# --- formulas -----------------------------------------------------------------------------------
_PLACEHOLDERS = ("x", "y", "z")
_TRANSPOSED = re.compile(r"\{(g|out|x|y|z)\}ᵀ")


def _number(value: Any, bare: bool) -> str:
    """A value as a formula writes it: a negative scalar inside an expression in brackets."""
    text = format_value(value)
    if not bare and text.startswith("-") and np.ndim(value) == 0:
        return f"({text})"
    return text


def _transposed(value: Any) -> Any:
    arr = np.asarray(value)
    return np.swapaxes(arr, -1, -2) if arr.ndim >= 2 else arr


def _formula(
    e: tuple[Any, ...],
    g: Any,
    contrib: list[tuple[int, Any]],
    local_id: dict[int, int],
    label: Any,
) -> str:
    """The VJP rule of one step in the user's names, then with the numbers filled in.

    ``∂L/∂w += Xᵀ · ∂L/∂t2 = [[1,3],[2,4]] · [[10],[20]] = [[70],[100]]``: each input's
    part, in symbols, then the same expression with the values (``Xᵀ`` is written as the
    transposed matrix), then the result.  Big arrays are shortened by :func:`format_value`;
    a part that broadcasting stretched is summed back, ``Σ(...)``.
    """
    op, vals, out, attrs, ids = e[0], e[2], e[3], e[4], e[6]
    out_label = label(local_id[e[7]])
    gname = f"∂L/∂{out_label}"
    names = {"g": gname, "out": out_label}
    values = {"g": g, "out": out}
    for i, xid in enumerate(ids[: len(_PLACEHOLDERS)]):
        names[_PLACEHOLDERS[i]] = label(local_id[xid])
        values[_PLACEHOLDERS[i]] = _val(vals[i])
    texts = op.texts(attrs, len(ids))
    if np.iscomplexobj(out):  # the rules use the conjugated values (TensorFlow's convention)
        from .ops.complex import conjugated_texts

        texts = conjugated_texts(texts)
    clauses = []
    pending = list(contrib)  # in input order, one item per input position that got a part
    for i, xid in enumerate(ids):
        if not pending or pending[0][0] != xid:
            continue
        c = _val(pending.pop(0)[1])
        tmpl = texts[i] if i < len(texts) and texts[i] else "{g}"
        try:
            sym, num = _fill(tmpl, names, values)
        except (KeyError, IndexError, ValueError):
            sym, num = tmpl, None
        if op.broadcasts and np.shape(c) != np.shape(g):
            # broadcasting: the input's part is summed over the axes it was stretched along
            sym = f"Σ({sym})"
            num = None if num is None else f"Σ({num})"
        text = f"∂L/∂{label(local_id[xid])} += {sym}"
        value = format_value(c)
        if num is not None and num != value and num != sym:
            text += f" = {num}"
        clauses.append(f"{text} = {value}")
    return "; ".join(clauses) if clauses else f"{gname} reaches no source"


class _Filled(dict[str, str]):
    """Placeholder texts made when a template asks for them; ``xT`` is ``x`` transposed."""

    def __init__(self, make: Any, source: dict[str, Any]) -> None:
        super().__init__()
        self.make = make
        self.source = source

    def __missing__(self, key: str) -> str:
        transposed = key.endswith("T") and key[:-1] in self.source
        base = key[:-1] if transposed else key
        text: str = self.make(self.source[base], transposed)
        self[key] = text
        return text


def _fill(tmpl: str, names: dict[str, str], values: dict[str, Any]) -> tuple[str, str | None]:
    """``tmpl`` in symbols and in numbers; ``{x}ᵀ`` (or ``{xT}``) is x transposed."""
    tmpl = _TRANSPOSED.sub(r"{\1T}", tmpl)
    sym = tmpl.format_map(_Filled(lambda name, t: name + ("ᵀ" if t else ""), names))
    bare = tmpl.strip() in {"{" + k + "}" for k in values}
    num = tmpl.format_map(_Filled(lambda v, t: _number(_transposed(v) if t else v, bare), values))
    return sym, num
