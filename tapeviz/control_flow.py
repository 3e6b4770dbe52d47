"""``tv.cond`` and ``tv.while_loop``: control flow that works eagerly and in ``tv.function``.

Eagerly (and in ``tv.function`` when the predicate is known while tracing) they are plain
Python: ``cond`` calls one branch, ``while_loop`` loops; tapes record the ops that ran,
so gradients need nothing special.

Inside ``tv.function`` with a *symbolic* predicate the branches and the loop body are
traced once each into blocks of the program (:mod:`tapeviz.compiler.ir`: ``if``,
``while``), which the numba code generator turns into a real ``if`` and a real ``while``.
Results leave a block through hidden storage (scratch slots), so every branch must give
results of one structure, dtype and shape, and a loop-carried value must keep its dtype
and shape — TensorFlow's rules, checked here with its kind of messages.

Gradients through a traced ``cond``: the tapes see one op per result whose gradient is
another ``cond`` on the same predicate, each branch recomputing its forward values under
a tape of its own (so second derivatives work the same way).  Gradients through a traced
``while_loop`` are not available yet: asking for one is an error, never a wrong number.

>>> import tapeviz as tv
>>> tv.cond(tv.constant(2.0) > 1.0, lambda: "big", lambda: "small")
'big'
>>> i, s = tv.while_loop(lambda i, s: i < 4, lambda i, s: (i + 1, s + i), (0, 0))
>>> print(i, s)
tv.Tensor(4, shape=(), dtype=int32) tv.Tensor(6, shape=(), dtype=int32)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import _state
from ._nest import flatten as _flatten
from ._nest import unflatten as _unflatten
from .tape import hidden_from_tapes
from .tensor import Tensor, Variable, convert_to_tensor

__all__ = ["cond", "while_loop", "Undefined"]


class Undefined:
    """The value of a Python variable that a converted ``if`` defined in only one branch,
    or that a converted loop body defined for itself (autograph).  Using it is an error
    that names the variable."""

    __slots__ = ("name", "why")

    def __init__(self, name: str, why: str = "") -> None:
        self.name = name
        self.why = why

    def _fail(self, *args: Any, **kwargs: Any) -> Any:
        why = f" ({self.why})" if self.why else ""
        raise UnboundLocalError(
            f"'{self.name}' is used but has no value here{why}. Give it a value before the "
            "`if` or loop (and in every branch) so that it is defined on every path."
        )

    __bool__ = __float__ = __int__ = __index__ = __len__ = __iter__ = _fail
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _fail
    __truediv__ = __rtruediv__ = __pow__ = __neg__ = __matmul__ = __getitem__ = _fail
    __lt__ = __le__ = __gt__ = __ge__ = _fail
    __call__ = _fail

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__"):
            raise AttributeError(attr)
        return self._fail()

    def __repr__(self) -> str:
        return f"<undefined '{self.name}'>"


# --- nested structures --------------------------------------------------------------------
def _spec_key(spec: Any) -> Any:
    """A comparable form of a spec (namedtuple classes by name)."""
    if isinstance(spec, int):
        return "."
    if spec[0] == "dict":
        return ("dict", tuple(repr(k) for k in spec[1]), tuple(_spec_key(s) for s in spec[2]))
    kind, children = spec
    name = kind if isinstance(kind, str) else kind.__qualname__
    return (name, tuple(_spec_key(s) for s in children))


def _spec_text(spec: Any) -> str:
    if isinstance(spec, int):
        return "."
    if spec[0] == "dict":
        pairs = zip(spec[1], spec[2], strict=True)
        return "{" + ", ".join(f"{k!r}: {_spec_text(s)}" for k, s in pairs) + "}"
    kind, children = spec
    inner = ", ".join(_spec_text(s) for s in children)
    return f"[{inner}]" if kind == "list" else f"({inner})"


# --- helpers ------------------------------------------------------------------------------
def _tracer() -> Any:
    return _state.local.tracer


def is_symbolic(x: Any) -> bool:
    """True for a tensor whose value exists only when a compiled function runs."""
    if not isinstance(x, Tensor) or _tracer() is None:
        return False
    return bool(_tracer().is_symbolic(x._value)) or isinstance(x, Variable)


def _is_number(x: Any) -> bool:
    return isinstance(x, bool | int | float | np.number | np.bool_) and not isinstance(x, Tensor)


def _as_tensor(x: Any) -> Any:
    """Branch results and loop values: Python numbers become tensors (TensorFlow's
    conversion); anything else (Variables too) stays as it is."""
    if _is_number(x) or isinstance(x, np.ndarray):
        return convert_to_tensor(x)
    return x


def _label(names: Sequence[str] | None, k: int, default: str) -> str:
    if names is not None and k < len(names):
        return f"'{names[k]}'"
    return default


def _type_text(t: Tensor) -> str:
    return f"{t.dtype.name} {tuple(t.shape)}"


def _pred_value(pred: Any, what: str) -> bool:
    """A predicate known now (a Python value or a concrete tensor) as a bool."""
    if isinstance(pred, Tensor):
        if tuple(pred.shape) != ():
            raise ValueError(
                f"{what}: the predicate must be a scalar (shape ()), got shape "
                f"{tuple(pred.shape)}; reduce it first (tv.reduce_all, tv.reduce_any)"
            )
        return bool(pred._value)
    return bool(pred)


def _check_pred(pred: Tensor, what: str) -> None:
    if tuple(pred.shape) != ():
        raise ValueError(
            f"{what}: the predicate must be a scalar boolean tensor (shape ()), got shape "
            f"{tuple(pred.shape)}; reduce it first (tv.reduce_all, tv.reduce_any)"
        )
    if pred.dtype.name != "bool":
        raise TypeError(
            f"{what}: the predicate must be a boolean tensor, got dtype {pred.dtype.name}; "
            "compare it (x > 0, tv.not_equal(x, 0)) to get a boolean"
        )


# --- cond ---------------------------------------------------------------------------------
def cond(
    pred: Any,
    true_fn: Callable[[], Any] | None = None,
    false_fn: Callable[[], Any] | None = None,
    name: str | None = None,
) -> Any:
    """``true_fn()`` if ``pred`` else ``false_fn()`` — TensorFlow's ``tf.cond``.

    Eagerly, and inside :func:`tapeviz.function` when ``pred`` is known while tracing,
    only the chosen branch runs (its result is returned as it is).  With a symbolic
    ``pred`` both branches are traced and compiled into an ``if``/``else``; they must
    return the same structure, with tensors of the same dtype and shape.

    Parameters
    ----------
    pred : bool or scalar boolean tensor
    true_fn, false_fn : callables without arguments
    name : ignored (TensorFlow compatibility)

    >>> import tapeviz as tv
    >>> x = tv.constant(-2.0)
    >>> tv.cond(x > 0, lambda: x * 10.0, lambda: -x)
    <tv.Tensor: shape=(), dtype=float32, numpy=2.0>
    """
    for fn, which in ((true_fn, "true_fn"), (false_fn, "false_fn")):
        if not callable(fn):
            raise TypeError(f"tv.cond: {which} must be callable, got {type(fn).__name__}")
    assert true_fn is not None and false_fn is not None
    if not is_symbolic(pred):
        return true_fn() if _pred_value(pred, "tv.cond") else false_fn()
    out, _ = symbolic_cond(pred, true_fn, false_fn)
    return out


def symbolic_cond(
    pred: Tensor,
    true_fn: Callable[[], Any],
    false_fn: Callable[[], Any],
    names: Sequence[str] | None = None,
    allow_undefined: bool = False,
) -> tuple[Any, Any]:
    """Trace both branches on a symbolic ``pred``; return (result, spec of the result).

    ``names`` label the leaves of the results in messages (autograph's variable names).
    With ``allow_undefined`` a leaf that is :class:`Undefined` in either branch becomes
    :class:`Undefined` after the ``cond`` (autograph: a variable set in one branch only)."""
    tracer = _tracer()
    _check_pred(pred, "tv.cond")
    p = tracer.atom(pred)
    captured: dict[int, Tensor] = {}
    results: list[tuple[list[Any], Any]] = []
    slots: list[Any] = []
    side_effects = False
    with hidden_from_tapes(keep=tracer.marker) as hidden:
        for negate, fn in ((False, true_fn), (True, false_fn)):
            e = tracer.begin_block("if", (p,), {"negate": negate})
            try:
                leaves, spec = _flatten(fn())
                leaves = [_as_tensor(x) for x in leaves]
                side_effects = side_effects or _has_side_effects(e.body or [])
                if not negate:
                    slots = [
                        tracer.scratch_slot(tuple(x.shape), x._value.dtype, _slot_name(names, k))
                        if _is_value(x)
                        else None
                        for k, x in enumerate(leaves)
                    ]
                else:
                    _check_branches(results[0], (leaves, spec), names, allow_undefined)
                for slot, x in zip(slots, leaves, strict=True):
                    if slot is not None and _is_value(x):
                        tracer.store(slot, x)
                results.append((leaves, spec))
            finally:
                captured.update(tracer.end_block(e))
    (t_leaves, spec), (f_leaves, _) = results
    out: list[Any] = []
    for k, (a, b) in enumerate(zip(t_leaves, f_leaves, strict=True)):
        if isinstance(a, Undefined) or isinstance(b, Undefined):
            which = "the true branch" if isinstance(a, Undefined) else "the else branch"
            nm = names[k] if names is not None and k < len(names) else f"result {k}"
            out.append(Undefined(nm, f"it is not given a value in {which} of an `if` on a tensor"))
        elif _is_value(a):
            out.append(tracer.load(slots[k]))
        else:
            out.append(a)
    if hidden:
        _record_cond_gradient(hidden, pred, true_fn, false_fn, out, captured, side_effects)
    return _unflatten(spec, out), spec


def _is_value(x: Any) -> bool:
    """A tensor that flows through control flow by value (a Variable is an object that
    stays itself)."""
    return isinstance(x, Tensor) and not isinstance(x, Variable)


def _slot_name(names: Sequence[str] | None, k: int) -> str:
    return names[k] if names is not None and k < len(names) else f"cond{k}"


def _has_side_effects(eqns: list[Any]) -> bool:
    """Whether a traced block assigns a user's Variable, prints or draws random numbers."""
    return bool(_tracer().has_side_effects(eqns))


def _check_same_type(a: Any, b: Any, label: str, dtype_message: str, shape_message: str) -> None:
    """TypeError unless the tensors ``a`` and ``b`` have the same dtype, then ValueError
    unless they have the same shape.  The messages are templates of ``{label}``, ``{a}``
    and ``{b}`` (the two dtype names, or the two shapes)."""
    if a.dtype != b.dtype:
        raise TypeError(dtype_message.format(label=label, a=a.dtype.name, b=b.dtype.name))
    if tuple(a.shape) != tuple(b.shape):
        raise ValueError(shape_message.format(label=label, a=tuple(a.shape), b=tuple(b.shape)))


def _check_branches(
    first: tuple[list[Any], Any],
    second: tuple[list[Any], Any],
    names: Sequence[str] | None,
    allow_undefined: bool,
) -> None:
    (a_leaves, a_spec), (b_leaves, b_spec) = first, second
    if _spec_key(a_spec) != _spec_key(b_spec):
        raise ValueError(
            "tv.cond: true_fn and false_fn must return the same nested structure; true_fn "
            f"returned {_spec_text(a_spec)} and false_fn returned {_spec_text(b_spec)}"
        )
    for k, (a, b) in enumerate(zip(a_leaves, b_leaves, strict=True)):
        label = _label(names, k, f"result {k}")
        if (isinstance(a, Undefined) or isinstance(b, Undefined)) and allow_undefined:
            continue
        if _is_value(a) and _is_value(b):
            _check_same_type(
                a,
                b,
                label,
                "tv.cond: {label} has dtype {a} in the true branch but {b} in the false "
                "branch; both branches must give the same dtype (cast one with tv.cast)",
                "tv.cond: {label} has shape {a} in the true branch but {b} in the false "
                "branch; tv.function compiles fixed shapes, so both branches must give the "
                "same shape",
            )
        elif _is_value(a) or _is_value(b):
            other = b if _is_value(a) else a
            raise TypeError(
                f"tv.cond: {label} is a tensor in one branch and {type(other).__name__} "
                f"({other!r}) in the other; both branches must give a tensor (or both "
                "the same Python value)"
            )
        elif a is not b and not (_is_number(a) and _is_number(b) and a == b):
            raise ValueError(
                f"tv.cond: {label} is the Python value {a!r} in the true branch but {b!r} in "
                "the false branch; with a tensor predicate they must be tensors (tv.constant)"
            )


def _record_cond_gradient(
    tapes: list[Any],
    pred: Tensor,
    true_fn: Callable[[], Any],
    false_fn: Callable[[], Any],
    outs: list[Any],
    captured: dict[int, Tensor],
    side_effects: bool,
) -> None:
    """Let each tape record one op per float result of the cond; its gradient is a cond
    of the branches' gradients (each branch recomputed under its own tape)."""
    from .custom import _custom_op

    floats = [x for x in captured.values() if x.dtype.is_floating]
    tensors = [x for x in floats if not isinstance(x, Variable)]
    variables = [x for x in floats if isinstance(x, Variable)]
    sources: list[Tensor] = [*tensors, *variables]
    if not sources:
        return
    tracer = _tracer()
    effects_at_cond = tracer.side_effects()

    for k, out in enumerate(outs):
        if not isinstance(out, Tensor) or not out.dtype.is_floating:
            continue

        def grad_fn(g: Tensor, variables: Any = None, k: int = k) -> Any:
            if side_effects:
                raise NotImplementedError(
                    "tv.function: cannot differentiate through this tv.cond (or `if` on a "
                    "tensor): its branches assign Variables or print, and its gradient "
                    "would run them again. Move the assignments out of the branches."
                )
            if _tracer().side_effects() != effects_at_cond and variables:
                raise NotImplementedError(
                    "tv.function: a Variable was assigned between a tv.cond (or `if` on a "
                    "tensor) and the gradient through it; tapeviz recomputes the branch for "
                    "the gradient and would use the new value. Take the gradient before "
                    "assigning."
                )
            grads = cond(
                pred,
                _branch_gradient(true_fn, k, sources, g),
                _branch_gradient(false_fn, k, sources, g),
            )
            grads = list(grads)
            if variables:
                return grads[: len(tensors)], grads[len(tensors) :]
            return grads

        attrs = {"grad_fn": grad_fn, "n_inputs": len(tensors), "fname": "cond"}
        for t in tapes:
            t._record_custom(_custom_op, sources, out, attrs)


def _branch_gradient(
    fn: Callable[[], Any], k: int, sources: list[Tensor], g: Tensor
) -> Callable[[], Any]:
    def run() -> Any:
        from .tape import GradientTape, UnconnectedGradients

        with GradientTape(watch_accessed_variables=False, persistent=True) as tape:
            tape.watch(sources)
            leaves, _ = _flatten(fn())
            y = _as_tensor(leaves[k])
        return tape.gradient(
            y, sources, output_gradients=g, unconnected_gradients=UnconnectedGradients.ZERO
        )

    return run


# --- while_loop ---------------------------------------------------------------------------
def while_loop(
    cond: Callable[..., Any],
    body: Callable[..., Any],
    loop_vars: Any,
    shape_invariants: Any = None,
    parallel_iterations: int = 10,
    back_prop: bool = True,
    swap_memory: bool = False,
    maximum_iterations: Any = None,
    name: str | None = None,
) -> Any:
    """Repeat ``loop_vars = body(*loop_vars)`` while ``cond(*loop_vars)`` — ``tf.while_loop``.

    ``loop_vars`` is a tuple or list (``cond`` and ``body`` take one argument per item) and
    ``body`` returns the same structure.  Eagerly, and inside :func:`tapeviz.function` while
    ``cond`` gives a Python bool, the loop runs in Python.  When ``cond`` gives a tensor
    inside ``tv.function``, the body is traced once and compiled as a real ``while`` loop:
    every loop variable must keep its dtype and shape (``shape_invariants`` cannot relax
    that: tapeviz compiles fixed shapes).  ``maximum_iterations`` caps the iterations.
    ``parallel_iterations``, ``back_prop``, ``swap_memory`` and ``name`` are ignored.

    >>> import tapeviz as tv
    >>> i, x = tv.while_loop(lambda i, x: x < 100.0, lambda i, x: (i + 1, x * 3.0),
    ...                      (tv.constant(0), tv.constant(1.0)))
    >>> int(i), float(x)
    (5, 243.0)
    """
    for fn, which in ((cond, "cond"), (body, "body")):
        if not callable(fn):
            raise TypeError(f"tv.while_loop: {which} must be callable, got {type(fn).__name__}")
    single = not isinstance(loop_vars, list | tuple) or isinstance(loop_vars, Tensor)
    args = [loop_vars] if single else list(loop_vars)
    # numbers become tensors, as TensorFlow converts loop variables
    args = [_unflatten(sp, [_loop_value(x) for x in lv]) for lv, sp in map(_flatten, args)]
    kind = type(loop_vars)

    def pack(values: list[Any]) -> Any:
        return values[0] if single else _rebuild(kind, values)

    def step(values: list[Any]) -> list[Any]:
        new = body(*values)
        if single and not isinstance(new, list | tuple):
            new = [new]
        if not isinstance(new, list | tuple) or len(new) != len(values):
            raise ValueError(
                "tv.while_loop: body must return as many values as loop_vars has "
                f"({len(values)}), in the same structure; it returned {new!r}"
            )
        return list(new)

    count = 0
    values = args
    while True:
        capped = maximum_iterations is not None and not is_symbolic(maximum_iterations)
        if capped and count >= int(maximum_iterations):
            return pack(values)
        c = cond(*values)
        if is_symbolic(c) or (
            _tracer() is not None and (isinstance(c, Tensor) or is_symbolic(maximum_iterations))
        ):
            limit = None if maximum_iterations is None else maximum_iterations
            if limit is not None and not is_symbolic(limit):
                limit = int(limit) - count
            out = symbolic_while(
                lambda *v: cond(*v), lambda *v: step(list(v)), values, maximum_iterations=limit
            )
            return pack(out)
        if not _pred_value(c, "tv.while_loop"):
            return pack(values)
        values = step(values)
        count += 1


def _loop_value(x: Any) -> Any:
    return x.read_value() if isinstance(x, Variable) else _as_tensor(x)


def _rebuild(kind: Any, values: list[Any]) -> Any:
    if kind is list:
        return list(values)
    if kind is tuple:
        return tuple(values)
    return kind(*values)  # namedtuple


def symbolic_while(
    cond: Callable[..., Any],
    body: Callable[..., Any],
    loop_vars: list[Any],
    names: Sequence[str] | None = None,
    maximum_iterations: Any = None,
    loop_range: tuple[list[Any], Any] | None = None,
    escaping: Callable[[], list[Any]] | None = None,
) -> Any:
    """Trace a ``while`` loop: loop-carried values live in scratch slots; the condition
    is tested at the top of the body.  ``body`` takes and returns a list like
    ``loop_vars`` (whose leaves may be nested structures).

    With ``loop_range`` = (atoms of start, limit, delta; index dtype) the loop is a
    counted ``for`` loop instead (``cond`` is not used) and ``body`` gets the index
    first.

    ``escaping`` (autograph) is called at the end of the traced body: the (name, value)
    pairs it returns — variables the body assigns that had no value before the loop — are also
    stored, and the result is then ``(loop values, their values after the loop)``: the
    last iteration's, or zeros if the loop did not run."""
    tracer = _tracer()
    leaves, spec = _flatten(list(loop_vars))
    leaves = [_as_tensor(x) for x in leaves]
    recording = [t for t in _state.local.tapes if t._recording and t is not tracer.marker]
    slots: list[Any] = []
    for k, x in enumerate(leaves):
        if _is_value(x):
            label = names[k] if names is not None and k < len(names) else f"loop{k}"
            slot = tracer.scratch_slot(tuple(x.shape), x._value.dtype, label)
            tracer.store(slot, x)
            slots.append(slot)
        else:
            slots.append(None)
    counter = None
    if maximum_iterations is not None:
        counter = tracer.scratch_slot((), np.dtype(np.int32), "iterations")
        tracer.store(counter, convert_to_tensor(0))
    runs = None  # how many times the body ran (what a gradient needs)
    if recording:
        runs = tracer.scratch_slot((), np.dtype(np.int32), "runs")
        tracer.store(runs, convert_to_tensor(0))

    def count_run() -> None:
        if runs is not None:
            tracer.store(runs, tracer.load(runs) + 1)

    with hidden_from_tapes(keep=tracer.marker):
        index = None
        if loop_range is not None:
            index = tracer.new_var((), loop_range[1])
            e = tracer.begin_block("loop", tuple(loop_range[0]), {}, outs=(index,))
        else:
            e = tracer.begin_block("while", (), {})
        try:
            cur = [
                tracer.load(s) if s is not None else x for s, x in zip(slots, leaves, strict=True)
            ]
            if index is not None:
                count_run()
                new = body(tracer.symbolic(index), *_unflatten(spec, cur))
            elif counter is not None:
                n = tracer.load(counter)
                tracer.exit_unless(n < convert_to_tensor(maximum_iterations, dtype="int32"))
                tracer.store(counter, n + 1)
            if index is None:
                new = _test_then_body(tracer, cond, body, _unflatten(spec, cur), count_run)
            new_leaves, new_spec = _flatten(list(new))
            if _spec_key(new_spec) != _spec_key(spec):
                raise ValueError(
                    "tv.while_loop: body must return the same nested structure as loop_vars: "
                    f"{_spec_text(spec)} before the loop, {_spec_text(new_spec)} after one "
                    "iteration"
                )
            for k, (old, x) in enumerate(zip(leaves, new_leaves, strict=True)):
                x = _as_tensor(x)
                _check_carried(old, x, _label(names, k, f"loop variable {k}"))
                if slots[k] is not None:
                    tracer.store(slots[k], x)
            named = list(escaping()) if escaping is not None else []
            escaped_names = [label for label, _ in named]
            escaped = [x for _, x in named]
            escaped_slots = [
                tracer.scratch_slot(tuple(x.shape), x._value.dtype, label) if _is_value(x) else None
                for label, x in named
            ]
            for slot, x in zip(escaped_slots, escaped, strict=True):
                if slot is not None:
                    tracer.store(slot, x)
        finally:
            captured = tracer.end_block(e)
    out = [tracer.load(s) if s is not None else x for s, x in zip(slots, leaves, strict=True)]
    if recording and _connected(recording, leaves, captured):
        assert runs is not None
        if _has_side_effects(e.body or []):
            raise NotImplementedError(
                "tv.function: cannot differentiate through this loop: its body assigns "
                "Variables, prints or draws random numbers, and its gradient would run the "
                "body again. Move those out of the loop, or put the GradientTape inside it."
            )
        for label, x in zip(escaped_names, escaped, strict=True):
            if _is_value(x) and x.dtype.is_floating:
                raise NotImplementedError(
                    f"tv.function: '{label}' is assigned inside a loop on tensors but not "
                    "before it, and a recording tape would need its gradient; give it a "
                    "value before the loop so that the loop carries it."
                )
        loop = _Loop(spec, leaves, body, loop_range, tracer.load(runs))
        loop.record(recording, out, captured)
    if escaping is None:
        return list(_unflatten(spec, out))
    after = [
        tracer.load(s) if s is not None else x for s, x in zip(escaped_slots, escaped, strict=True)
    ]
    return list(_unflatten(spec, out)), after


def _test_then_body(
    tracer: Any,
    cond: Callable[..., Any],
    body: Callable[..., Any],
    cur: Any,
    before_body: Callable[[], None],
) -> Any:
    c = cond(*cur)
    c = convert_to_tensor(c) if _is_number(c) else c
    if not isinstance(c, Tensor):
        raise TypeError(f"tv.while_loop: cond must return a boolean tensor, got {type(c).__name__}")
    _check_pred(c, "tv.while_loop")
    tracer.exit_unless(c)
    before_body()
    return body(*cur)


def _check_carried(old: Any, new: Any, label: str) -> None:
    if _is_value(old):
        if not _is_value(new):
            raise TypeError(
                f"tv.while_loop: {label} is a tensor before the loop but "
                f"{type(new).__name__} ({new!r}) after one iteration; a loop variable must "
                "stay a tensor"
            )
        _check_same_type(
            old,
            new,
            label,
            "tv.while_loop: {label} has dtype {a} before the loop, but dtype {b} after one "
            "iteration; a loop variable must keep its dtype (cast it with tv.cast)",
            "tv.while_loop: {label} has shape {a} before the loop, but shape {b} after one "
            "iteration. tv.function compiles fixed shapes, so a loop variable must keep its "
            "shape (shape_invariants cannot relax this in tapeviz); grow a result in a "
            "preallocated tensor instead",
        )
    elif isinstance(old, Undefined):
        return
    elif new is not old and not (_is_number(old) and _is_number(new) and old == new):
        raise TypeError(
            f"tv.while_loop: {label} is {type(old).__name__} ({old!r}) before the loop and "
            f"{type(new).__name__} ({new!r}) after one iteration; a value carried by a loop "
            "on tensors must be a tensor or a number"
        )


def _connected(tapes: list[Any], leaves: list[Any], captured: dict[int, Tensor]) -> bool:
    """Whether a recording tape would differentiate through a loop with these values."""
    for t in tapes:
        for x in [*leaves, *captured.values()]:
            if not isinstance(x, Tensor):
                continue
            if x._id in t._tracked or (
                isinstance(x, Variable)
                and x.trainable
                and x.dtype.is_floating
                and t._watch_accessed
            ):
                return True
    return False


class _Loop:
    """The gradient of a traced loop, by recomputation.

    The backward loop walks the iterations from the last to the first; for iteration
    ``j`` it recomputes the loop values at its start (running the body ``j`` times from
    the initial values: a loop inside the backward loop), runs the body once more under a
    tape and pulls the adjoint of the loop values back through it.  Nothing is stored per
    iteration, so loops of any length work, at the price of O(n²) body runs."""

    def __init__(
        self,
        spec: Any,
        init: list[Any],
        body: Callable[..., Any],
        loop_range: tuple[list[Any], Any] | None,
        runs: Tensor,
    ) -> None:
        self.spec, self.init, self.body, self.loop_range, self.runs = (
            spec,
            init,
            body,
            loop_range,
            runs,
        )
        self.floats = [k for k, x in enumerate(init) if _is_value(x) and x.dtype.is_floating]

    def step(self, j: Tensor, values: list[Any]) -> list[Any]:
        """The body on the values at the start of iteration ``j``: the values after it."""
        args = _unflatten(self.spec, values)
        if self.loop_range is not None:
            from .ops.math import cast

            tracer = _tracer()
            start, _, delta = (tracer.symbolic(a) for a in self.loop_range[0])
            index = start + cast(j, self.loop_range[1].name) * delta
            new = self.body(index, *args)
        else:
            new = self.body(*args)
        return [_as_tensor(x) for x in _flatten(list(new))[0]]

    def values_at(self, j: Tensor) -> list[Any]:
        out = symbolic_while(
            lambda i, *vs: i < j,
            lambda i, *vs: [i + 1, *self.step(i, list(vs))],
            [convert_to_tensor(0), *self.init],
        )
        return list(out[1:])

    def record(self, tapes: list[Any], outs: list[Any], captured: dict[int, Tensor]) -> None:
        from .custom import _custom_op

        # (an initial value may also be captured by the body: it is then a source twice,
        # and the tape adds both contributions)
        extra = [x for x in captured.values() if x.dtype.is_floating]
        tensors = [self.init[k] for k in self.floats] + [
            x for x in extra if not isinstance(x, Variable)
        ]
        variables = [x for x in extra if isinstance(x, Variable)]
        sources = [*tensors, *variables]
        for k in self.floats:

            def grad_fn(g: Tensor, variables: Any = None, k: int = k) -> Any:
                grads = self.gradient(k, g, sources)
                if variables:
                    return grads[: len(tensors)], grads[len(tensors) :]
                return grads

            attrs = {"grad_fn": grad_fn, "n_inputs": len(tensors), "fname": "while_loop"}
            for t in tapes:
                t._record_custom(_custom_op, sources, outs[k], attrs)

    def gradient(self, k: int, g: Tensor, sources: list[Tensor]) -> list[Tensor]:
        from .ops.shape import zeros_like
        from .tape import GradientTape, UnconnectedGradients

        nf = len(self.floats)
        outer = sources[nf:]
        g_values = [g if i == k else zeros_like(self.init[i]) for i in self.floats]
        g_outer = [zeros_like(x) for x in outer]

        def back(j: Tensor, *adjoints: Tensor) -> list[Tensor]:
            values = self.values_at(j)
            with GradientTape(watch_accessed_variables=False, persistent=True) as tape:
                watched = [values[i] for i in self.floats]
                tape.watch([*watched, *outer])
                new = self.step(j, values)
            ys = [new[i] for i in self.floats]
            grads = tape.gradient(
                ys,
                [*watched, *outer],
                output_gradients=list(adjoints[:nf]),
                unconnected_gradients=UnconnectedGradients.ZERO,
            )
            summed = [a + b for a, b in zip(adjoints[nf:], grads[nf:], strict=True)]
            return [j - 1, *grads[:nf], *summed]

        out = symbolic_while(
            lambda j, *adjoints: j >= 0,
            back,
            [self.runs - 1, *g_values, *g_outer],
        )
        g_init = list(out[1 : 1 + nf])
        g_extra = list(out[1 + nf :])
        return [*g_init, *g_extra]
