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

An entry also carries its *compiled form*, what :func:`tapeviz.function` turns it into:
an elementwise op has a :class:`Kernel`, the Python source of one output element for
numba (``"np.exp({x})"``), from which the compiler derives its code both for fused loops
and for single numbers; other ops are lowered whole by :mod:`tapeviz.compiler.codegen`,
or are marked ``interpreter_only`` with the reason.

Example (the whole definition of ``exp``)::

    register(Op("exp", np.exp,
                vjp=lambda k, g, out, x: (g * out,),   # d/dx exp(x) = exp(x)
                symbol="exp", latex=r"e^{x}", grad_text=("{g} · {out}",),
                elementwise=True, kernel=Kernel("np.exp({x})", float32="K.exp32({x})")))

Ops may be registered from outside the package (a course's own op, a test's): see
:func:`register` and :func:`unregister`.
"""

from __future__ import annotations

import _string  # type: ignore[import-not-found]
import operator
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import numpy as np

from .. import _state, subnormals

if TYPE_CHECKING:
    from ..tensor import Tensor, Variable

__all__ = [
    "Op",
    "TapeEntry",
    "Kernel",
    "KernelCall",
    "REGISTRY",
    "register",
    "unregister",
    "apply",
    "NUMPY",
    "TENSOR",
    "Backend",
    "OpTable",
]


@dataclass(frozen=True, eq=False)  # (compared as objects: no generated __eq__ to import)
class KernelCall:
    """What a kernel function sees of one use of its op (built by the compiler).

    Attributes
    ----------
    args : list of str
        Source of the inputs' values (an element in a fused loop, else the whole value).
    dtype : numpy.dtype
        The output's dtype.
    consts : list
        Per input, its value if it is a constant of the program, else None.
    scalar : callable
        ``scalar(v)`` is the source of the number ``v`` in the output's dtype.
    """

    args: list[str]
    dtype: np.dtype[Any]
    consts: list[Any]
    scalar: Callable[[Any], str]


@dataclass(frozen=True, eq=False)  # (compared as objects: no generated __eq__ to import)
class Kernel:
    """The compiled form of an elementwise op: one output element as Python source.

    ``tv.function`` generates numba code from it: inside a loop fused with its neighbours
    (``e7 = e5 / (k0 + np.abs(e5))``) and for single numbers (``t7 = t5 / (k0 + ...)``).

    Attributes
    ----------
    expr : str or callable
        Template of one output element.  Fields: ``{x}``, ``{y}``, ``{z}`` the inputs (in
        order), ``{one}`` and ``{zero}`` the numbers 1 and 0 in the output's dtype.  The
        source may call ``np.<function>`` (numpy as numba compiles it) and
        ``K.<function>`` (:mod:`tapeviz.compiler.kernels`).  Or a function of a
        :class:`KernelCall` returning that source, for rules that depend on dtypes or on
        constant inputs (``pow``, ``cast``).
    float32 : str
        Template used instead in fused loops over float32 values (a
        :mod:`tapeviz.compiler.kernels` function with TensorFlow's float32 arithmetic that
        vectorises); single numbers and unfused arrays keep ``expr``.
    numpy : str
        Template for whole values (single numbers, and arrays that are not fused) when
        ``expr`` works on scalars only (Python's ``and``, a kernel on scalars).
    widens_ints : bool
        numba computes ``expr`` on integers in 64 bits: a fused loop casts each element
        back to the output's dtype (``np.int32(e3 + e4)``).
    predicate : bool
        The output is bool whatever the inputs (comparisons, logic): single numbers need no
        cast back to the output's dtype.
    scalar_tail : bool
        TensorFlow computes a float32 array's last ``n % 8`` numbers with another function
        than the rest (its scalar code: the C library's ``expf`` & co., where its packets of
        8 take Eigen's polynomials); the op's whole form does the same, and fused loops take
        the op only where they run over a multiple of 8 numbers.
    """

    expr: str | Callable[[KernelCall], str]
    float32: str = ""
    numpy: str = ""
    widens_ints: bool = False
    predicate: bool = False
    scalar_tail: bool = False

    def __post_init__(self) -> None:
        for template in (self.expr, self.float32, self.numpy):
            if isinstance(template, str):
                unknown = [f for f in _fields(template) if f not in _TEMPLATE_FIELDS]
                if unknown:
                    raise ValueError(
                        f"kernel template {template!r}: unknown field {{{unknown[0]}}} (use "
                        "{x}, {y}, {z} for the inputs and {one}, {zero} for constants)"
                    )

    def element(self, call: KernelCall) -> str:
        """Source of one element inside a fused loop."""
        if self.float32 and call.dtype == np.float32:
            return _fill(self.float32, call)
        return _fill(self.expr, call)

    def whole(self, call: KernelCall) -> str:
        """Source of the op on whole values (a single number, an unfused array)."""
        return _fill(self.numpy or self.expr, call)


def _fill(template: str | Callable[[KernelCall], str], call: KernelCall) -> str:
    """The source a kernel template gives for ``call`` (constants bound in field order)."""
    if callable(template):
        return template(call)
    values: dict[str, str] = dict(zip("xyz", call.args, strict=False))
    for f in _fields(template):
        if f == "one" and f not in values:
            values[f] = call.scalar(1)
        elif f == "zero" and f not in values:
            values[f] = call.scalar(0)
        elif f not in values:
            raise ValueError(
                f"kernel template {template!r} uses {{{f}}}, but the op has "
                f"{len(call.args)} input{'s' if len(call.args) != 1 else ''}"
            )
    return template.format(**values)


_TEMPLATE_FIELDS = ("x", "y", "z", "one", "zero")


@cache
def _fields(template: str) -> tuple[str, ...]:
    # (what string.Formatter().parse calls; the string module costs 0.5 ms of import)
    return tuple(f for _, f, _, _ in _string.formatter_parser(template) if f is not None)


@dataclass(frozen=True, eq=False)  # (one op, one object: compared and hashed as objects)
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
    # -- the compiled form (tv.function) --
    # The output's shape is the broadcast of the inputs' shapes, and its dtype that of the
    # op on one number of each input (the tracer infers them without running the op).
    elementwise: bool = False
    # One output element as numba source: the op joins fused loops (see Kernel).  Ops
    # without one are lowered whole by tapeviz.compiler.codegen (reductions, matmul).
    kernel: Kernel | None = None
    # Why the op has no compiled form, if it has none (it never becomes an equation).
    interpreter_only: str = ""

    def __repr__(self) -> str:
        return f"<tapeviz op {self.name}>"

    def __call__(self, *inputs: Any, **attrs: Any) -> Any:
        """Run the op on tensors (or numbers): ``op(x, y, axis=0)``; recorded by tapes."""
        return _tensor_fn(self)(*inputs, **attrs)

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
    """Add ``op`` to the registry (once) and to both VJP backends.

    This is also how code outside tapeviz adds an op: the tape, the compiler (through the
    op's :class:`Kernel`) and the drawings pick it up from here.

    >>> import numpy as np
    >>> import tapeviz as tv
    >>> from tapeviz.ops import Kernel, Op, register, unregister
    >>> cube = register(Op("cube", lambda x: x * x * x,
    ...                    vjp=lambda k, g, out, x: (g * (x * x * 3.0),),  # d/dx x³ = 3x²
    ...                    symbol="x³", elementwise=True, kernel=Kernel("{x} * {x} * {x}")))
    >>> x = tv.Variable(2.0)
    >>> with tv.GradientTape() as tape:
    ...     y = cube(x)
    >>> print(y.numpy(), tape.gradient(y, x).numpy())
    8.0 12.0
    >>> unregister(cube)
    """
    if op.name in REGISTRY:
        raise ValueError(f"op {op.name!r} is registered twice")
    if op.kernel is not None and op.interpreter_only:
        raise ValueError(f"op {op.name!r} has a kernel and says it is interpreter_only")
    REGISTRY[op.name] = op
    setattr(NUMPY, op.name, op.forward)
    setattr(TENSOR, op.name, _tensor_fn(op))
    return op


def unregister(op: Op | str) -> None:
    """Remove an op added with :func:`register` (a test's cleanup)."""
    name = op if isinstance(op, str) else op.name
    if name not in REGISTRY:
        raise KeyError(f"no op {name!r} is registered")
    del REGISTRY[name]
    for backend in (NUMPY, TENSOR):
        if name in vars(backend):
            delattr(backend, name)


T = TypeVar("T")


class OpTable(Mapping[str, T], Generic[T]):
    """A read-only table derived from the registry: ``name -> derive(op)`` for the ops
    where ``derive`` gives something else than None (always up to date, also with ops
    registered later)."""

    def __init__(self, derive: Callable[[Op], T | None]) -> None:
        self._derive = derive

    def __getitem__(self, name: str) -> T:
        op = REGISTRY.get(name)
        value = None if op is None else self._derive(op)
        if value is None:
            raise KeyError(name)
        return value

    def __contains__(self, name: object) -> bool:
        op = REGISTRY.get(name) if isinstance(name, str) else None
        return op is not None and self._derive(op) is not None

    def __iter__(self) -> Iterator[str]:
        return iter([n for n, op in REGISTRY.items() if self._derive(op) is not None])

    def __len__(self) -> int:
        return sum(1 for op in REGISTRY.values() if self._derive(op) is not None)

    def __repr__(self) -> str:
        return f"<derived op table: {sorted(self)}>"


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

    This is the only place where ops run: it computes the forward on numpy values, with
    float32 subnormals flushed to zero as TensorFlow does (:mod:`tapeviz.subnormals`) (or,
    while ``tv.function`` traces, hands the op to the tracer, the hook
    ``_state.local.tracer``), wraps the result in a Tensor named ``name`` and gives
    (op, inputs, input values, output, attrs) to each recording tape, which makes its
    :class:`TapeEntry` (:meth:`~tapeviz.tape.GradientTape._record`).

    The fast path of the binary operators (:mod:`tapeviz.ops.math`): they pass the
    inputs' values as ``vals``, already checked, and ``None`` in ``xs`` for an input that
    was a Python number (``x * 0.5``), whose tensor is made here only if a tape records
    the op or a tracer runs it.  Otherwise every item of ``xs`` is a Tensor.
    """
    # One read of the thread's state when nothing watches (a tracer comes with a marker
    # on the tape stack, so an empty stack means no tracer either), and one when tapes
    # record: tv.function traces on a stack of its own that starts with its marker, so a
    # GradientTape first on the stack means no tracer.
    tapes = _local.tapes
    if tapes and type(tapes[0]) is not _TapeClass and _local.tracer is not None:
        if vals is not None and (xs[0] is None or xs[1] is None):
            xs, vals = _with_constants(xs, vals)
        out: Tensor = _local.tracer.apply(op, xs, attrs)
        if name is not None:
            out._name = name
        return out
    if vals is None:
        vals = (xs[0]._value,) if len(xs) == 1 else tuple(map(_value_of, xs))  # type: ignore[union-attr]
    # The forward, float32 subnormals flushed (written out here: the scalar case is hot)
    first = vals[0]
    if type(first) is _ndarray and first.dtype.kind == "f":
        # a float array: the forward runs with FTZ and DAZ set
        forward = op.forward
        try:
            own = _flushing.get(forward)  # its version that sets the bits itself, if any
        except TypeError:  # (an unhashable callable)
            own = None
        if own is not None:
            value = own(*vals, **attrs) if attrs else own(*vals)
        elif type(calls := subnormals._calls) is tuple:  # (subnormals.flushed, inlined)
            enter, leave = calls
            old = enter()
            try:
                value = forward(*vals, **attrs) if attrs else forward(*vals)
            finally:
                leave(old)
        else:
            value = _flushed(forward, vals, attrs)
        if type(value) is _ndarray and not value.ndim:
            value = value[()]  # rank 0 lives as a numpy scalar: much faster arithmetic
    else:
        value = op.forward(*vals, **attrs) if attrs else op.forward(*vals)
        kind = type(value)
        if kind is _ndarray:  # an array from a scalar first input (0.5 * x): flushed after
            value = _flush_array(value)
            if not value.ndim:
                value = value[()]
                kind = type(value)
        # a float32 scalar: its magnitude compared with the smallest normal float32 (the
        # first comparison settles a positive number)
        if kind is _f32 and value < _TINY and value > _NEG_TINY:
            value = value * _ZERO  # a zero of the same sign (zeros stay as they are)
    out = _new(_TensorClass)
    out._value = value
    out._id = _next_id()
    out._name = name
    if tapes and op.vjp is not None:
        if xs[0] is None or xs[-1] is None:  # (only a binary operator's may be None)
            xs, vals = _with_constants(xs, vals)
        for tape in tapes:
            if tape._recording:
                tape._record(op, xs, vals, out, attrs)
    return out


def _with_constants(
    xs: Sequence[Tensor | None], vals: tuple[Any, ...]
) -> tuple[Sequence[Tensor], tuple[Any, ...]]:
    """The two inputs of a binary operator, with a new constant tensor for a ``None`` (a
    Python number, whose value is in ``vals``), and their values: a number that came as a
    0-d array (beside a float32 array: :mod:`tapeviz.ops.math`) as a numpy scalar, as rank
    0 lives everywhere else."""
    x, y = xs
    a, b = vals
    if x is None:
        x = _constant(a)
        vals = (x._value, b)
    elif y is None:
        y = _constant(b)
        vals = (a, y._value)
    return (x, y), vals  # type: ignore[return-value]


def _constant(value: Any) -> Tensor:
    """A new constant tensor of a Python number's ``value`` (a 0-d array as a numpy scalar)."""
    out = _new(_TensorClass)
    out._value = value[()] if type(value) is _ndarray else value
    out._id = _next_id()
    out._name = None
    return out


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
_flushed = subnormals.flushed
_flushing = subnormals.FLUSHING
_flush_array = subnormals.flush_array
_f32 = np.float32
_TINY = subnormals.TINY
_NEG_TINY = -_TINY
_ZERO = np.float32(0.0)
_ndarray = np.ndarray
_value_of = operator.attrgetter("_value")
_NO_ATTRS: dict[str, Any] = {}
_new = object.__new__
_next_id = _state.next_id
# tapeviz.tensor.Tensor, set by tapeviz.tensor when it loads (it imports this module)
_TensorClass: type[Tensor] = object  # type: ignore[assignment]
# tapeviz.tape.GradientTape, set by tapeviz.tape likewise
_TapeClass: type = object


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
