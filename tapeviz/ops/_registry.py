"""The op registry: each primitive op is defined once, here, by one :class:`Op` entry.

An entry holds the op's numpy forward, its vector-Jacobian product (VJP) rule and its
teaching text.  The reverse sweep, the compiler and the visualisation all read the same
entry; adding an op touches one place.

VJP rules are written once and run on two *backends*:

* ``NUMPY`` — raw numpy values, the fast path when no outer tape is recording;
* ``TENSOR`` — tapeviz Tensors through the ops themselves, so that an outer tape records the
  gradient computation (higher-order derivatives come for free).

A rule is ``vjp(k, g, out, *inputs, **attrs) -> tuple`` where ``k`` is the backend,
``g`` the adjoint of the output, ``out`` the forward output and ``inputs`` the forward
inputs.  Rules use Python operators (``g * y``) and ``k.<op name>(...)`` only, which mean
the same on both backends.  They return one gradient per input (``None`` for "no gradient").

Example (the whole definition of ``exp``)::

    register(Op("exp", np.exp,
                vjp=lambda k, g, out, x: (g * out,),   # d/dx exp(x) = exp(x)
                symbol="exp", latex=r"e^{x}", grad_text=("{g} · {out}",)))
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import _state, subnormals

if TYPE_CHECKING:
    from ..tensor import Tensor, Variable

__all__ = ["Op", "TapeEntry", "REGISTRY", "register", "apply", "NUMPY", "TENSOR", "Backend"]


@dataclass(frozen=True)
class Op:
    """One primitive op.

    Attributes
    ----------
    name : str
        Registry name; matches TensorFlow's function name (``reduce_sum``, ``matmul``).
    forward : callable
        ``forward(*input_values, **attrs) -> value`` on numpy values.
    vjp : callable or None
        ``vjp(k, g, out, *inputs, **attrs) -> tuple`` (see module docstring).  ``None``
        marks an op with no gradient (comparisons, ``one_hot``): it is never recorded.
    symbol : str
        Short symbol for drawings (``"+"``, ``"×"``, ``"@"``).
    latex : str
        The forward formula in LaTeX, in terms of ``x``, ``y`` (inputs) and attrs.
    grad_text : tuple of str
        One template per input for the VJP, with ``{g}`` (the output adjoint), ``{out}``,
        ``{x}``/``{y}``/``{z}`` (the inputs) as placeholders; ``{xT}`` etc. transposes.
    doc : str
        One line saying what the op computes.
    """

    name: str
    forward: Callable[..., Any]
    vjp: Callable[..., tuple[Any, ...]] | None = None
    symbol: str = ""
    latex: str = ""
    # Or a function of the step's attrs and the number of inputs giving that tuple (used
    # where the rule depends on attrs, e.g. matmul's transpose flags).
    grad_text: tuple[str, ...] | Callable[[dict[str, Any], int], tuple[str, ...]] = ()
    doc: str = ""
    # Inputs that are never differentiated (labels of sparse cross-entropy, conditions).
    nondiff_inputs: tuple[int, ...] = field(default=())
    # If True the rule takes ``needs=`` (one bool per input) and may skip unneeded gradients.
    takes_needs: bool = False
    # If True its forward or VJP may divide by zero or take log/sqrt of <= 0: the sweep
    # then silences numpy's warnings (TensorFlow gives inf/nan silently).  May instead be
    # a function of the input values saying whether these values can warn (``pow`` with
    # a positive base cannot), so that the common case skips ``np.errstate``.
    may_warn: bool | Callable[..., bool] = False
    # Elementwise with numpy broadcasting: an input's gradient is g summed back to its shape.
    broadcasts: bool = False

    def __repr__(self) -> str:
        return f"<tapeviz op {self.name}>"

    def texts(self, attrs: dict[str, Any] | None = None, n_inputs: int = 2) -> tuple[str, ...]:
        """The VJP templates, one per input, for a call with these attrs."""
        if callable(self.grad_text):
            return self.grad_text(dict(attrs or {}), n_inputs)
        return self.grad_text


class TapeEntry:
    """One op as a tape recorded it: what the reverse sweep needs to run the op's VJP rule,
    and what ``tape.record()`` shows.

    The tape keeps no Tensor objects (so it keeps none alive): ``inputs`` holds, per input,
    the Variable itself or the tensor's name, and ``input_ids``/``output_id`` the tensors'
    ids, by which the sweep sums adjoints.  Made in one place, :meth:`GradientTape._record
    <tapeviz.tape.GradientTape._record>`, which :func:`apply` calls for every recording
    tape.  (A class with slots, not a NamedTuple: its fields are read faster than a tuple's
    items, and a training loop makes one per op.)
    """

    __slots__ = (
        "op",
        "inputs",
        "input_values",
        "output_value",
        "attrs",
        "where",
        "input_ids",
        "output_id",
        "output_name",
        "needs",
    )
    op: Op
    #: per input, the Variable itself or the input tensor's name (``None`` if unnamed)
    inputs: tuple[Variable | str | None, ...]
    #: the inputs' values when the op ran (numpy; placeholders while tracing)
    input_values: tuple[Any, ...]
    output_value: Any
    attrs: dict[str, Any]
    #: ``(name scope, group)``: the scope prefix (``"dense/"``) and, for an op of a reverse
    #: sweep that this tape recorded (higher order), the label of that sweep
    where: tuple[str, str | None]
    input_ids: tuple[int, ...]
    output_id: int
    output_name: str | None
    #: per input, whether it was tracked (watched, or computed from a watched tensor)
    needs: tuple[bool, ...]

    def with_attrs(self, attrs: dict[str, Any]) -> TapeEntry:
        """A copy with other attrs."""
        e: TapeEntry = _new(TapeEntry)
        for field_name in TapeEntry.__slots__:
            setattr(e, field_name, getattr(self, field_name))
        e.attrs = attrs
        return e

    def __repr__(self) -> str:
        return (
            f"<TapeEntry {self.op.name} {list(self.input_ids)} -> {self.output_id}"
            f"{' ' + repr(self.output_name) if self.output_name else ''}>"
        )


REGISTRY: dict[str, Op] = {}


def register(op: Op) -> Op:
    """Add ``op`` to the registry (once) and to both VJP backends."""
    if op.name in REGISTRY:
        raise ValueError(f"op {op.name!r} is registered twice")
    REGISTRY[op.name] = op
    setattr(NUMPY, op.name, op.forward)
    setattr(TENSOR, op.name, _tensor_fn(op))
    return op


def _tensor_fn(op: Op) -> Callable[..., Any]:
    def fn(*inputs: Any, **attrs: Any) -> Any:
        from ..tensor import convert_like

        xs = [convert_like(x, inputs) for x in inputs]
        return apply(op, xs, attrs)

    fn.__name__ = op.name
    return fn


class Backend:
    """A namespace of op functions plus shape helpers shared by VJP rules."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"<VJP backend {self.name}>"

    # -- helpers written once on top of the ops --------------------------------------
    @staticmethod
    def shape(x: Any) -> tuple[int, ...]:
        return tuple(x.shape)

    def unbroadcast(self, g: Any, shape: Sequence[int]) -> Any:
        """Sum ``g`` over the axes that broadcasting added or stretched, back to ``shape``.

        The one place where gradients through broadcasting are undone.
        """
        gshape = g.shape
        if gshape == shape:
            return g
        shape = tuple(shape)
        gshape = tuple(gshape)
        lead = len(gshape) - len(shape)
        axes = tuple(range(lead)) + tuple(
            i + lead for i, s in enumerate(shape) if s == 1 and gshape[i + lead] != 1
        )
        if axes:
            g = self.reduce_sum(g, axis=axes, keepdims=False)  # type: ignore[attr-defined]
        if tuple(g.shape) != shape:
            g = self.reshape(g, shape=shape)  # type: ignore[attr-defined]
        return g


NUMPY = Backend("numpy")
TENSOR = Backend("tensor")


def apply(
    op: Op,
    xs: Sequence[Tensor | None],
    attrs: dict[str, Any],
    name: str | None = None,
    vals: tuple[Any, ...] | None = None,
) -> Tensor:
    """Run ``op`` on tapeviz tensors ``xs`` and let every recording tape record it.

    This is the only place where ops run: it computes the forward on numpy values (or,
    while ``tv.function`` traces, hands the op to the tracer, the hook
    ``_state.local.tracer``), wraps the result in a Tensor named ``name`` and gives
    (op, inputs, input values, output, attrs) to each recording tape, which makes its
    :class:`TapeEntry` (:meth:`~tapeviz.tape.GradientTape._record`).

    The fast path of the binary operators (:mod:`tapeviz.ops.math`): they pass the
    inputs' values as ``vals``, already checked, and ``None`` in ``xs`` for an input that
    was a Python number (``x * 0.5``), whose tensor is made here only if a tape records
    the op or a tracer runs it.  Otherwise every item of ``xs`` is a Tensor.
    """
    local = _local
    if local.tracer is not None:
        if vals is not None and (xs[0] is None or xs[1] is None):
            xs = _with_constants(xs, vals)
        out: Tensor = local.tracer.apply(op, xs, attrs)
        if name is not None:
            out._name = name
        return out
    if vals is None:
        vals = (xs[0]._value,) if len(xs) == 1 else tuple(map(_value_of, xs))  # type: ignore[union-attr]
    value = _run(op.forward, vals, attrs)  # float32 subnormals flushed, as in TF
    if type(value) is _ndarray and not value.ndim:
        value = value[()]  # rank 0 lives as a numpy scalar: much faster arithmetic
    out = _new(_TensorClass)
    out._value = value
    out._id = _next_id()
    out._name = name
    tapes = local.tapes
    if tapes and op.vjp is not None:
        if xs[0] is None or xs[-1] is None:  # (only a binary operator's may be None)
            xs = _with_constants(xs, vals)
        for tape in tapes:
            if tape._recording:
                tape._record(op, xs, vals, out, attrs)
    return out


def _with_constants(xs: Sequence[Tensor | None], vals: tuple[Any, ...]) -> Sequence[Tensor]:
    """The two inputs of a binary operator, with a new constant tensor for a ``None`` (a
    Python number, whose value is in ``vals``)."""
    x, y = xs
    if x is None:
        x = _new(_TensorClass)
        x._value = vals[0]
        x._id = _next_id()
        x._name = None
    elif y is None:
        y = _new(_TensorClass)
        y._value = vals[1]
        y._id = _next_id()
        y._name = None
    return (x, y)  # type: ignore[return-value]


def record(op: Op, xs: Sequence[Tensor], out: Tensor, attrs: dict[str, Any]) -> None:
    """Let every recording tape record ``op``, whose output ``out`` was made elsewhere.

    This is the recording half of :func:`apply`, for the tracer of ``tv.function``, which
    makes a symbolic output instead of running the numpy forward (its marker on the tape
    stack records nothing).
    """
    vals = tuple([x._value for x in xs])
    for tape in _local.tapes:
        if tape._recording:
            tape._record(op, xs, vals, out, attrs)


_local = _state.local
_run = subnormals.run
_ndarray = np.ndarray
_value_of = operator.attrgetter("_value")
_NO_ATTRS: dict[str, Any] = {}
_new = object.__new__
_next_id = _state.next_id
# tapeviz.tensor.Tensor, set by tapeviz.tensor when it loads (it imports this module)
_TensorClass: type[Tensor] = object  # type: ignore[assignment]


def sanitize_attrs(attrs: dict[str, Any]) -> dict[str, Any]:
    """Attrs as JSON-friendly values (callables by name, arrays as lists)."""
    out: dict[str, Any] = {}
    for k, v in attrs.items():
        if callable(v):
            out[k] = getattr(v, "__name__", type(v).__name__)
        elif isinstance(v, np.ndarray | np.generic):
            out[k] = v.tolist()
        elif isinstance(v, tuple):
            out[k] = [list(e) if isinstance(e, tuple) else e for e in v]
        else:
            out[k] = v
    return out
