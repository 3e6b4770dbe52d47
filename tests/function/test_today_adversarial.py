"""Adversarial tests of the tv.function changes of a283c3c..25ed880.

* fused loops writing into arrays the compiled code allocated (matmul results, earlier
  loops' arrays), Variables storing such arrays without a shared-memory search;
* small returned arrays allocated inside compiled code instead of recycled buffers;
* a cross-entropy and the later softmax of the same logits from one kernel;
* learning-rate schedules called inside ``tv.function``;
* eager scalar ``pow`` through numpy's scalar power;
* (the NRT's machine code in the cache folder: see test_cache_folder.py).

Compiled results are compared with eager ones bit for bit where no transcendental is
involved, else within a few float spacings.  Under ``NUMBA_DISABLE_JIT=1`` the same
functions run on the numpy interpreter; checks only compiled code can fail are skipped.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import tapeviz as tv
from tapeviz.compiler import kernels as K

from .processes import run_python

JIT_DISABLED = os.environ.get("NUMBA_DISABLE_JIT", "0") not in ("", "0")
S = tv.keras.optimizers.schedules


def _within_ulps(a: Any, b: Any, ulps: int) -> bool:
    """Same shape and dtype, same NaN and infinity positions, finite entries within
    ``ulps`` spacings of the larger magnitude.  float32 subnormals count as zero: compiled
    code flushes them, as TensorFlow does (tests/function/test_subnormals.py), and eager
    float32 softmax flushes them as TensorFlow's CPU kernel does."""
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if a.dtype == np.float32:
        tiny = np.finfo(np.float32).tiny
        a, b = (np.where(np.abs(v) < tiny, np.float32(0), v) for v in (a, b))
    if not np.array_equal(np.isnan(a), np.isnan(b)):
        return False
    fin = np.isfinite(a) & np.isfinite(b)
    if not np.array_equal(a[~fin & ~np.isnan(a)], b[~fin & ~np.isnan(b)]):
        return False
    big = np.maximum(np.abs(a[fin]), np.abs(b[fin]))
    spacing = np.spacing(big)
    tiny = np.finfo(a.dtype).tiny if a.dtype.kind == "f" else 0
    return bool(np.all((np.abs(a[fin] - b[fin]) <= ulps * spacing) | (big < tiny)))


def _source(fn: Any, *args: Any) -> str:
    """The generated source of ``fn``'s concrete function for ``args`` (compiled only)."""
    src = fn.get_concrete_function(*args).source
    assert src is not None
    return src


# --- 1. in-place fused loops and Variables storing their arrays ---------------------------------
def _dense_step(w: tv.Variable, x: Any) -> tv.Tensor:
    """One step of a linear layer with a relu: ``d`` is written into the matmul's array,
    the new ``w`` into the second matmul's array (the case the change targets)."""
    d = tv.nn.relu(x @ w) - 0.5
    # (transpose_a: tv.transpose(x) @ d of float64 hits the cache bug pinned below)
    w.assign_sub(0.125 * tv.matmul(x, d, transpose_a=True))
    return d


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("rows", [8, 200])  # small arrays (allocated) and >= 64 KiB (pool)
def test_in_place_step_equals_eager_and_keeps_every_held_value(dtype: Any, rows: int) -> None:
    """Compiled steps give eager's numbers bit for bit (relu, products, sums: no
    transcendental), and every value a user held from earlier steps (``read_value``
    tensors, ``w._value`` references, returned outputs) keeps its numbers."""
    rng = np.random.default_rng(0)
    cols = 3 if rows == 8 else 90
    x = rng.standard_normal((rows, cols)).astype(dtype)
    w0 = (rng.standard_normal((cols, cols)) * 0.1).astype(dtype)
    w_c, w_e = tv.Variable(w0), tv.Variable(w0)
    f = tv.function(_dense_step)
    held: list[tuple[Any, Any, Any, np.ndarray, np.ndarray]] = []
    for k in range(4):
        read, ref, snapshot = w_c.read_value(), w_c._value, w_c.numpy()
        d_c = f(w_c, x)
        d_e = _dense_step(w_e, x)
        assert np.array_equal(d_c.numpy(), d_e.numpy()), k
        assert np.array_equal(w_c.numpy(), w_e.numpy()), k
        held.append((read, ref, d_c, snapshot, d_e.numpy()))
    for read, ref, d_c, snapshot, d_want in held:
        assert np.array_equal(read.numpy(), snapshot)
        assert np.array_equal(ref, snapshot)
        assert np.array_equal(d_c.numpy(), d_want)
    assert not w_c._value.flags.writeable  # a Variable's value never changes in place
    if not JIT_DISABLED and rows == 8:
        assert "# its array, overwritten" in _source(f, w_c, x)  # the path under test ran


def test_a_value_defined_before_a_loop_is_not_overwritten_inside_it() -> None:
    """``m`` (a matmul result, only read by one fused loop inside ``tv.range``) must keep
    its numbers on every iteration: overwriting it in place would add 2m, 4m... instead
    of m each time."""

    def fn(v: tv.Variable, x: Any) -> tv.Tensor:
        m = x @ tv.ones((3, 3))
        for _ in tv.range(4):
            v.assign(m + v)
        return v.read_value()

    x = np.arange(12, dtype=np.float32).reshape(4, 3)
    v_c, v_e = tv.Variable(np.ones((4, 3), np.float32)), tv.Variable(np.ones((4, 3), np.float32))
    got = tv.function(fn)(v_c, x)
    want = fn(v_e, x)
    assert np.array_equal(got.numpy(), want.numpy())
    assert np.array_equal(v_c.numpy(), 1.0 + 4.0 * x.sum(axis=1, keepdims=True) * np.ones((1, 3)))


def test_in_place_inside_a_loop_body_over_a_value_the_body_reads_again() -> None:
    """In a loop body ``t = v @ v`` is overwritten by ``t * 0.5 + v`` (which reads the
    Variable, defined outside the group): each iteration must use the new ``v``."""

    def fn(v: tv.Variable) -> tv.Tensor:
        for _ in tv.range(3):
            t = v @ v
            v.assign(t * 0.5 + v.read_value())
        return v.read_value()

    w0 = np.array([[0.5, -0.25], [0.125, 0.75]], np.float32)
    v_c, v_e = tv.Variable(w0), tv.Variable(w0)
    assert np.array_equal(tv.function(fn)(v_c).numpy(), fn(v_e).numpy())
    assert np.array_equal(v_c.numpy(), v_e.numpy())


def test_one_fresh_array_assigned_to_two_variables_and_returned() -> None:
    """``y`` goes to two Variables and is returned: all three keep ``y``'s numbers after
    later calls with other inputs (nothing recycles or overwrites a held array)."""

    def fn(v: tv.Variable, u: tv.Variable, x: Any) -> tv.Tensor:
        y = (x @ x) * 2.0
        v.assign(y)
        u.assign(y)
        return y

    f = tv.function(fn)
    v, u = tv.Variable(np.zeros((3, 3), np.float32)), tv.Variable(np.zeros((3, 3), np.float32))
    x1 = np.arange(9, dtype=np.float32).reshape(3, 3)
    out1 = f(v, u, x1)
    want1 = (x1 @ x1) * np.float32(2.0)
    v1, u1 = v.read_value(), u.read_value()
    for k in range(2, 5):
        out = f(v, u, x1 * np.float32(k))
        assert np.array_equal(out.numpy(), (x1 * k) @ (x1 * k) * np.float32(2.0))
    for t in (out1, v1, u1):
        assert np.array_equal(t.numpy(), want1)
    assert not v._value.flags.writeable and not u._value.flags.writeable


@pytest.mark.parametrize("n", [3, 160])
def test_writing_into_a_returned_array_does_not_change_a_variable(n: int) -> None:
    """Eager ``u.assign(y); return y`` gives ``u`` its own copy; whatever a user does to the
    returned tensor's array (``np.asarray``), ``u`` keeps its value."""

    def fn(v: tv.Variable, u: tv.Variable) -> tv.Tensor:
        y = (v @ v) * 2.0
        u.assign(y)
        return y

    v, u = tv.Variable(np.ones((n, n), np.float32)), tv.Variable(np.zeros((n, n), np.float32))
    out = tv.function(fn)(v, u)
    want = u.numpy()
    arr = np.asarray(out)
    if arr.flags.writeable:
        arr[0, 0] = -1.0
    assert np.array_equal(u.numpy(), want)


def test_assigning_an_argument_or_its_view_copies_it() -> None:
    """Values that are (views of) the caller's numpy arrays are copied into the Variable:
    changing the caller's array later does not change the Variable."""

    def fn(v: tv.Variable, u: tv.Variable, x: Any) -> tv.Tensor:
        v.assign(x)
        u.assign(tv.reshape(x, (3, 2)))
        return tv.reduce_sum(x)

    f = tv.function(fn)
    v, u = tv.Variable(np.zeros((2, 3), np.float32)), tv.Variable(np.zeros((3, 2), np.float32))
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    f(v, u, x)
    x[:] = -7.0
    assert np.array_equal(v.numpy(), np.arange(6, dtype=np.float32).reshape(2, 3))
    assert np.array_equal(u.numpy(), np.arange(6, dtype=np.float32).reshape(3, 2))


CHAINS: dict[str, tuple[Callable[..., Any], Callable[[np.random.Generator], list[Any]]]] = {
    # int32: matmul_loops' array, then integer arithmetic (cast back per element)
    "int32": (
        lambda a, b: (a @ b) * 3 - a[:, :1],
        lambda r: [r.integers(-5, 5, (4, 4)).astype(np.int32)] * 2,
    ),
    # a 3-d batched product, its array overwritten by a broadcast bias and relu
    "batched 3-d": (
        lambda a, b: tv.nn.relu(tv.matmul(a, b) + tv.constant([1.0, -2.0, 0.5], tv.float32)),
        lambda r: [
            r.standard_normal((2, 4, 5)).astype(np.float32),
            r.standard_normal((2, 5, 3)).astype(np.float32),
        ],
    ),
    # two loops in a row: the second writes into the first's array
    "chained loops": (
        lambda a, b: tv.reduce_sum(tv.square((a @ b) * 2.0), axis=0) + (a @ b)[0],
        lambda r: [r.standard_normal((6, 3)).astype(np.float64)] + [np.eye(3)],
    ),
    # transposed (non-contiguous) arguments
    "non-contiguous": (
        lambda a, b: (a @ b - 1.0) * a[:, :1],
        lambda r: [
            r.standard_normal((4, 4)).astype(np.float32).T,
            r.standard_normal((4, 4)).astype(np.float32).T,
        ],
    ),
    # a dead use of the product next to the live one; a full sum of the overwritten array
    "dead code and a full sum": (
        lambda a, b: _with_dead_code(a, b),
        lambda r: [r.standard_normal((5, 5)).astype(np.float32)] * 2,
    ),
    # 1-d: a vector times a matrix (reshaped), then elementwise
    "1-d": (
        lambda a, b: tv.reshape(tv.reshape(a, (1, 4)) @ b, (4,)) * a + 1.0,
        lambda r: [r.standard_normal(4).astype(np.float32), np.eye(4, dtype=np.float32)],
    ),
}


def _with_dead_code(a: Any, b: Any) -> Any:
    m = a @ b
    _unused = m * 3.0
    y = m - 1.0
    return y, tv.reduce_sum(y)


@pytest.mark.parametrize("name", list(CHAINS))
def test_in_place_chains_over_dtypes_shapes_and_layouts(name: str) -> None:
    """Products followed by elementwise work equal eager bit for bit (no transcendental
    involved), and the caller's arrays keep their numbers."""
    fn, make = CHAINS[name]
    args = make(np.random.default_rng(3))
    before = [a.copy() for a in args]
    got = tv.function(fn)(*args)
    want = fn(*[tv.constant(a) for a in args])
    got_l = got if isinstance(got, tuple) else (got,)
    want_l = want if isinstance(want, tuple) else (want,)
    for g, w in zip(got_l, want_l, strict=True):
        assert g.dtype == w.dtype and np.array_equal(g.numpy(), w.numpy()), name
    for a, b in zip(args, before, strict=True):
        assert np.array_equal(a, b)


# --- 3. a cross-entropy and the softmax of its logits from one kernel ----------------------------
def _sparse_pair(labels: Any, logits: Any) -> Any:
    return tv.nn.sparse_softmax_cross_entropy_with_logits(labels, logits), tv.nn.softmax(logits)


def _dense_pair(labels: Any, logits: Any) -> Any:
    return tv.nn.softmax_cross_entropy_with_logits(labels, logits), tv.nn.softmax(logits)


def _special_logits() -> np.ndarray:
    lg = np.random.default_rng(1).standard_normal((6, 4)).astype(np.float32)
    lg[1, 2] = np.nan  # a NaN row
    lg[2, 0] = np.inf  # +inf: inf - inf = NaN
    lg[3, :] = -np.inf  # all -inf
    lg[4, 1] = -np.inf  # one -inf: a zero probability
    lg[5] = [80.0, -80.0, 0.0, 80.0]  # exponentials that underflow
    return lg


PAIR_CASES: dict[str, tuple[Any, np.ndarray]] = {
    "nan and inf rows": (np.array([0, 1, 2, 3, 1, 3], np.int32), _special_logits()),
    "scalar label": (np.int32(2), np.array([0.5, -1.0, 3.0, 0.25], np.float32)),
    "3-d float64": (
        np.array([[0, 1], [2, 3]], np.int64),
        np.random.default_rng(2).standard_normal((2, 2, 4)),
    ),
    "transposed logits": (
        np.array([1, 0, 2], np.int32),
        np.random.default_rng(4).standard_normal((4, 3)).astype(np.float32).T,
    ),
    "long rows": (
        np.array([0, 199], np.int32),
        np.random.default_rng(5).standard_normal((2, 200)).astype(np.float32) * 30,
    ),
}


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")
# each case wraps the same two functions anew: TensorFlow's retracing warning is expected
@pytest.mark.filterwarnings("ignore:.*triggered tv.function retracing")
@pytest.mark.parametrize("dense", [False, True], ids=["sparse", "dense"])
@pytest.mark.parametrize("name", list(PAIR_CASES))
def test_paired_cross_entropy_and_softmax(name: str, dense: bool) -> None:
    """Compiled: the paired kernel ran, and each result is bit for bit its own kernel's
    (what ``K.softmax_rows`` and ``K.(sparse_)xent_rows`` give alone).  Both modes: within a
    few spacings of eager (exp32 against numpy's exp), NaN where eager has NaN."""
    labels, logits = PAIR_CASES[name]
    k = logits.shape[-1]
    if dense:
        labels = np.eye(k, dtype=logits.dtype)[np.asarray(labels)]
    fn = _dense_pair if dense else _sparse_pair
    f = tv.function(fn)
    loss, sm = f(labels, logits)
    want_loss, want_sm = fn(tv.constant(labels), tv.constant(logits))
    assert _within_ulps(loss.numpy(), want_loss.numpy(), 4), (loss, want_loss)
    assert _within_ulps(sm.numpy(), want_sm.numpy(), 4), (sm, want_sm)
    if JIT_DISABLED:
        return
    assert ("K.xent_softmax_rows" if dense else "K.sparse_xent_softmax_rows") in _source(
        f, labels, logits
    )
    rows = np.ascontiguousarray(logits).reshape(-1, k)
    lab = np.ascontiguousarray(labels).reshape((-1, k) if dense else (-1,))
    # alone, as compiled code runs them: subnormals flushed to zero
    fp = K.flush_subnormals_enter()
    try:
        alone = K.xent_rows(lab, rows) if dense else K.sparse_xent_rows(lab, rows)
        alone_sm = K.softmax_rows(rows)
    finally:
        K.flush_subnormals_leave(fp)
    assert np.array_equal(loss.numpy().reshape(-1), alone, equal_nan=True)
    assert np.array_equal(sm.numpy(), alone_sm.reshape(logits.shape), equal_nan=True)


def test_paired_kernel_in_a_training_step_and_in_a_loop_body() -> None:
    """The gradient of a classifier's loss (its softmax pairs with the loss) inside
    ``tv.range``: weights within a few spacings of eager after three steps."""

    def train(w: tv.Variable, x: Any, labels: Any) -> tv.Tensor:
        for _ in tv.range(3):
            with tv.GradientTape() as tape:
                logits = x @ w
                loss = tv.reduce_mean(
                    tv.nn.sparse_softmax_cross_entropy_with_logits(labels, logits)
                )
            w.assign_sub(0.5 * tape.gradient(loss, w))
        return loss

    rng = np.random.default_rng(6)
    x = rng.standard_normal((16, 5)).astype(np.float32)
    labels = rng.integers(0, 4, 16).astype(np.int32)
    w0 = (rng.standard_normal((5, 4)) * 0.1).astype(np.float32)
    w_c, w_e = tv.Variable(w0), tv.Variable(w0)
    loss_c = tv.function(train)(w_c, x, labels)
    loss_e = train(w_e, x, labels)
    assert _within_ulps(loss_c.numpy(), loss_e.numpy(), 16)
    np.testing.assert_allclose(w_c.numpy(), w_e.numpy(), rtol=1e-5, atol=1e-6)


# --- 5. schedules inside tv.function ------------------------------------------------------------
SCHEDULES: dict[str, Callable[[], Any]] = {
    "Exponential": lambda: S.ExponentialDecay(0.1, 3, 0.9),
    "Exponential staircase": lambda: S.ExponentialDecay(0.1, 3, 0.9, staircase=True),
    "Exponential float64": lambda: S.ExponentialDecay(np.float64(0.1), 3, 0.9),
    "InverseTime staircase": lambda: S.InverseTimeDecay(0.1, 4, 0.5, staircase=True),
    "InverseTime float64": lambda: S.InverseTimeDecay(np.float64(0.1), 4, 0.5),
    "Piecewise": lambda: S.PiecewiseConstantDecay([3, 6], [0.1, 0.05, 0.01]),
    "Piecewise int values": lambda: S.PiecewiseConstantDecay([3, 6], [3, 2, 1]),
    "Polynomial sqrt": lambda: S.PolynomialDecay(0.1, 5, 0.01, power=0.5),
    "Polynomial cycle": lambda: S.PolynomialDecay(0.1, 5, 0.01, power=2.0, cycle=True),
    "Polynomial cycle float64": lambda: S.PolynomialDecay(np.float64(0.1), 5, 0.01, 3.0, True),
    "Cosine": lambda: S.CosineDecay(0.1, 8, alpha=0.1),
    "Cosine warm-up": lambda: S.CosineDecay(0.05, 8, warmup_target=0.1, warmup_steps=3),
}
STEPS = [0, 1, 3, 4, 5, 6, 7, 8, 11, 100]


@pytest.mark.parametrize("step_dtype", [np.float32, np.int32, np.int64])
@pytest.mark.parametrize("name", list(SCHEDULES))
def test_schedule_inside_a_function_for_tensor_steps_of_each_dtype(
    name: str, step_dtype: Any
) -> None:
    """``schedule(step)`` traced once, run for many steps of float and int dtypes: the
    eager rate, bit for bit, with its dtype (the interpreter's cos is numpy's: a spacing
    off TensorFlow's cosf, as the existing schedule tests allow)."""
    schedule = SCHEDULES[name]()
    rate = tv.function(lambda step: schedule(step))
    for step in STEPS:
        got = rate(tv.constant(step_dtype(step))).numpy()
        want = schedule(step).numpy()
        assert got.dtype == want.dtype, (step, got.dtype, want.dtype)
        if JIT_DISABLED and "Cosine" in name:
            assert _within_ulps(got, want, 2), (step, got, want)
        else:
            assert got == want, (step, got, want)
    assert rate.experimental_get_tracing_count() == 1


@pytest.mark.filterwarnings("ignore::tapeviz.compiler.tf_function.RetracingWarning")
@pytest.mark.parametrize("name", [n for n in SCHEDULES if "Cosine" not in n])
def test_schedule_inside_a_function_for_python_int_steps(name: str) -> None:
    """A Python int step is a constant of the trace: the rate is still the eager one."""
    schedule = SCHEDULES[name]()
    rate = tv.function(lambda step: schedule(step))
    for step in STEPS:
        got, want = rate(step).numpy(), schedule(step).numpy()
        assert got.dtype == want.dtype and got == want, (step, got, want)


@pytest.mark.filterwarnings("ignore::tapeviz.compiler.tf_function.RetracingWarning")
@pytest.mark.parametrize("name", ["Cosine", "Cosine warm-up"])
def test_cosine_schedule_inside_a_function_for_python_int_steps(name: str) -> None:
    """As for the other schedules: ``rate(3)`` inside tv.function is eager's ``s(3)``."""
    schedule = SCHEDULES[name]()
    rate = tv.function(lambda step: schedule(step))
    for step in STEPS:
        got, want = rate(step).numpy(), schedule(step).numpy()
        assert got == want, (step, got, want)


def test_schedule_of_an_optimizer_iterations_variable_inside_a_function() -> None:
    """``schedule(opt.iterations)`` in a training step follows the Variable at run time."""
    schedule = S.ExponentialDecay(0.1, 2, 0.5, staircase=True)
    counter = tv.Variable(0.0)

    @tv.function
    def tick() -> tv.Tensor:
        lr = schedule(counter)
        counter.assign_add(1.0)
        return lr

    got = [float(tick()) for _ in range(6)]
    assert got == [float(schedule(k)) for k in range(6)]


# --- 6. eager scalar pow ------------------------------------------------------------------------
@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_scalar_pow_eager_equals_compiled_and_c_pow(dtype: Any) -> None:
    """Eager ``tv.pow`` of two numpy scalars of one float type is numpy's scalar power (C's
    powf/pow): equal to compiled code bit for bit, quiet for NaN/inf results, and
    ``0.9f ** 4`` is TensorFlow's 0.6560999."""
    rng = np.random.default_rng(7)
    xs = np.concatenate([rng.uniform(0, 3, 60), [0.0, -0.0, -2.0, -8.0, np.inf, np.nan, 1e-30]])
    ys = np.concatenate([rng.uniform(-6, 6, 60), [-1.0, 0.5, 1 / 3, 2.5, -3.0, 4.0, 5.0]])
    f = tv.function(lambda x, y: tv.pow(x, y))
    for x, y in zip(xs.astype(dtype), ys.astype(dtype), strict=True):
        eager = tv.pow(tv.constant(x), tv.constant(y)).numpy()
        assert type(eager) is dtype
        with np.errstate(all="ignore"):
            assert np.array_equal(eager, x**y, equal_nan=True), (x, y)
        compiled = f(tv.constant(x), tv.constant(y)).numpy()
        assert np.array_equal(eager, compiled, equal_nan=True), (x, y, eager, compiled)
    assert tv.pow(tv.constant(np.float32(0.9)), tv.constant(np.float32(4))).numpy() == np.float32(
        0.6560999
    )


# --- found on the way: a BLAS call read a contiguous copy numba had already freed (the transposed
# float64 operand below came out wrong in processes that loaded the code from the cache) ----------
MATMUL_CODE = """
    import numpy as np
    import tapeviz as tv

    f = tv.function(lambda x, d: tv.transpose(x) @ d)
    rng = np.random.default_rng(0)
    worst = 0.0
    for _ in range(6):
        x, d = rng.standard_normal((200, 90)), rng.standard_normal((200, 90))
        worst = max(worst, float(np.abs(f(x, d).numpy() - x.T @ d).max()))
    print(worst)
"""


@pytest.mark.skipif(JIT_DISABLED, reason="nothing is compiled")
def test_float64_product_of_a_transposed_view_from_the_cache() -> None:
    """``tv.transpose(x) @ d`` equals numpy's ``x.T @ d`` bit for bit, compiled in this
    process or loaded from the cache by the next one."""
    with tempfile.TemporaryDirectory() as cache:
        for _ in range(2):
            assert float(run_python(MATMUL_CODE, {"TAPEVIZ_CACHE_DIR": cache})) == 0.0
