"""Every numba kernel against its numpy reference (tapeviz.compiler.kernels: ``ref_<name>``),
and the fused loops the code generator writes (pairwise sums in numpy's order, recycled buffers)."""

from __future__ import annotations

import os
import re
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from ulp import ulp_distance as ulps
from ulp import within_ulps

import tapeviz as tv
from tapeviz.compiler import kernels as K
from tapeviz.compiler.fusion import pairwise_schedule

pytestmark = pytest.mark.skipif(
    os.environ.get("NUMBA_DISABLE_JIT", "0") not in ("", "0"),
    reason="the kernels are numba code (NUMBA_DISABLE_JIT=1 runs the numpy interpreter)",
)


def _vectorised(fn: Any) -> Any:
    """The scalar kernel applied in a numba loop (how generated code calls it)."""
    import numba

    @numba.njit(error_model="numpy")
    def loop(x: np.ndarray) -> np.ndarray:
        out = np.empty_like(x)
        for i in range(x.shape[0]):
            out[i] = fn(x[i])
        return out

    return loop


SPECIALS = np.array(
    [0.0, -0.0, np.inf, -np.inf, np.nan, 1e-30, -1e-30, 88.7, 88.8, -87.4, -103.9, -150.0],
    np.float32,
)


@pytest.mark.parametrize(
    ("name", "lo", "hi", "exact64", "bound"),
    [
        ("exp32", -104.0, 89.0, np.exp, 1),
        ("log32", -87.0, 88.0, np.log, 3),  # (of exp(uniform(lo, hi)))
        ("tanh32", -12.0, 12.0, np.tanh, 6),
        ("sigmoid32", -30.0, 30.0, lambda x: 1 / (1 + np.exp(-x)), 6),
    ],
)
def test_fast_transcendentals_are_within_ulps(
    name: str, lo: float, hi: float, exact64: Any, bound: int
) -> None:
    """Eigen's float32 polynomials (TensorFlow's) against the correctly rounded value: the
    ulp figures of the README; and bit for bit the numpy versions eager code runs."""
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.uniform(lo, hi, 200_000), rng.uniform(-1, 1, 100_000)]).astype(
        np.float32
    )
    if name == "log32":
        x = np.exp(x.astype(np.float64)).astype(np.float32)
    x = np.concatenate([x, SPECIALS])
    got = _vectorised(getattr(K, name))(x)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        correctly_rounded = exact64(x.astype(np.float64)).astype(np.float32)
    normal = np.isfinite(correctly_rounded) & (np.abs(correctly_rounded) >= 1.2e-38)
    assert ulps(got, correctly_rounded)[normal].max() <= bound
    eager = getattr(K, "ref_" + name)(x)  # (IEEE subnormals on both sides here)
    assert np.array_equal(np.isnan(got), np.isnan(eager))
    assert np.array_equal(got[~np.isnan(got)].view(np.int32), eager[~np.isnan(got)].view(np.int32))


@pytest.mark.parametrize("name", ["sin32", "cos32"])
def test_sin_cos_within_two_spacings_of_numpy(name: str) -> None:
    """Eigen's sin/cos (TensorFlow's) against numpy's float32 ones: within 2 float32
    spacings of the result, or of 1 near the zeros (compiled code promises 4 ulps of eager)."""
    rng = np.random.default_rng(2)
    x = np.concatenate(
        [rng.uniform(-100, 100, 200_000), rng.uniform(-3e4, 3e4, 50_000), SPECIALS]
    ).astype(np.float32)
    got = _vectorised(getattr(K, name))(x)
    with np.errstate(invalid="ignore"):  # (of ±inf: NaN)
        want = (np.sin if name == "sin32" else np.cos)(x)
    finite = np.isfinite(want)
    assert np.array_equal(np.isnan(got), np.isnan(want))
    assert within_ulps(got[finite], want[finite], 2, scale=1.0)


@pytest.mark.parametrize("name", ["exp32", "log32", "tanh32", "sigmoid32", "sin32", "cos32"])
def test_fast_transcendentals_vectorise(name: str) -> None:
    loop = _vectorised(getattr(K, name))
    loop(np.ones(4, np.float32))
    asm = loop.inspect_asm(loop.signatures[0])
    # packed multiplies (8 or 16 floats at once): the loop was vectorised
    assert re.search(r"vmulps\s+%[yz]mm", asm)
    assert "expf" not in asm and "logf" not in asm  # and calls no scalar libm function


SHAPES3 = hnp.array_shapes(min_dims=3, max_dims=3, min_side=0, max_side=40)


@given(shape=SHAPES3, seed=st.integers(0, 2**16))
@pytest.mark.parametrize(
    "name",
    [
        "sum_axis",
        "mean_axis",
        "prod_axis",
        "max_axis",
        "min_axis",
        "argmax_axis",
        "argmin_axis",
        "any_axis",
        "all_axis",
    ],
)
def test_reductions_equal_numpy_bit_for_bit(name: str, shape: tuple[int, ...], seed: int) -> None:
    if shape[1] == 0 and name in ("max_axis", "min_axis", "argmax_axis", "argmin_axis"):
        return  # numpy raises on empty reductions; the ops reject them before
    if shape[1] == 0 and name == "mean_axis":
        return  # (numpy warns: a mean of nothing)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(np.float32)
    x[rng.random(shape) < 0.05] = np.nan  # NaN wins max, min and their indices
    x[rng.random(shape) < 0.3] = 0  # zeros for any and all (and ties of max and min)
    got = getattr(K, name)(x)
    want = getattr(K, "ref_" + name)(x)
    assert got.dtype == want.dtype
    assert np.array_equal(got, want, equal_nan=True)


def test_long_sums_follow_numpy_pairwise_order() -> None:
    rng = np.random.default_rng(3)
    for n in (7, 8, 127, 128, 129, 1000, 8193, 100_003, 1_000_000):
        x = (rng.standard_normal(n) * 100).astype(np.float32)
        assert K.sum_axis(x.reshape(1, n, 1))[0, 0] == np.sum(x)


def test_pairwise_schedule_reproduces_numpy() -> None:
    rng = np.random.default_rng(4)
    for n in (1, 9, 128, 129, 4097, 123_457):
        x = rng.standard_normal(n).astype(np.float32)
        leaves, merges = pairwise_schedule(n)
        assert sum(leaves) == n and max(leaves) <= 128
        stack: list[Any] = []
        lo = 0
        for length, m in zip(leaves, merges, strict=True):
            stack.append(K.block_sum(x, lo, length))
            lo += length
            for _ in range(m):
                b = stack.pop()
                stack.append(np.float32(stack.pop()) + np.float32(b))
        assert len(stack) == 1 and np.float32(stack[0]) == np.sum(x)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_leaf_sums_of_a_schedule_are_numpy_sums_bit_for_bit(dtype: Any) -> None:
    """K.leaf_sums (numpy's 8 accumulators as a recurrence of distance 8) over one buffer
    or over pieces of it, as the streaming loop calls it, gives np.sum's bits: with
    signed zeros, infinities and NaN, and with leaves of fewer than 8 numbers."""
    rng = np.random.default_rng(11)
    for n in (1, 5, 8, 127, 128, 129, 1000, 8 * 128 + 3, 4097, 100_007):
        leaves, merges = pairwise_schedule(n)
        sched = np.array([leaves, merges], np.uint8).T  # (a leaf's two numbers side by side)
        for fill in ("normal", "zeros", "minus zeros", "specials"):
            x = (rng.standard_normal(n) * 1e3).astype(dtype)
            if fill == "minus zeros":  # numpy's pairwise sum: -0.0 from 8 numbers on
                x = np.full(n, -0.0, dtype)
            elif fill == "zeros":
                x = np.where(rng.random(n) < 0.5, -0.0, 0.0).astype(dtype)
            elif fill == "specials":
                x[rng.random(n) < 0.02] = -0.0
                x[rng.integers(0, n)] = np.inf if n % 2 else np.nan
            acc, work = np.empty(64, dtype), np.empty(136, dtype)
            sp, first, lo = 0, 0, 0
            for last in sorted({len(leaves) // 3, len(leaves)} - {0}):  # two calls
                width = sum(leaves[first:last])
                sp = K.leaf_sums(x[lo : lo + width], sched, first, last, acc, sp, work)
                first, lo = last, lo + width
            assert sp == 1
            pairwise = dtype(K.pairwise_sum(x, 0, n))  # numpy's internal order, signed zeros too
            assert acc[0].tobytes() == pairwise.tobytes() or np.isnan(pairwise)
            got, want = dtype(0.0) + acc[0], np.sum(x)  # (np.sum starts from +0.0)
            assert got.tobytes() == want.tobytes() or (np.isnan(got) and np.isnan(want))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "mkn",
    [(20, 3, 1), (1, 3, 20), (1, 30, 1), (5, 1, 7), (5, 1, 1), (7, 30, 9), (64, 100, 33)],
)
def test_matmul_calls_the_blas_routine_numpy_calls(dtype: Any, mkn: tuple[int, int, int]) -> None:
    m, k, n = mkn
    rng = np.random.default_rng(5)
    fn = K.matmul_f32 if dtype == np.float32 else K.matmul_f64
    for ta in (False, True):
        for tb in (False, True):
            a = rng.standard_normal((k, m) if ta else (m, k)).astype(dtype)
            b = rng.standard_normal((n, k) if tb else (k, n)).astype(dtype)
            assert np.array_equal(fn(a, b, ta, tb), K.ref_matmul2d(a, b, ta, tb))
    a = rng.standard_normal((m, k)).astype(dtype)  # a @ aᵀ of one buffer: numpy uses syrk
    assert np.array_equal(fn(a, a, False, True), K.ref_matmul2d(a, a, False, True))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "mkn", [(90, 200, 1), (1, 200, 90), (90, 200, 7), (1, 50, 1), (64, 300, 64)]
)
def test_matmul_of_transposed_views_hands_blas_the_buffer_as_numpy_does(
    dtype: Any, mkn: tuple[int, int, int]
) -> None:
    """An F-contiguous operand (``x.T`` of a C array) goes to BLAS as its buffer with the
    transpose flag, as numpy does; a contiguous copy rounded differently (x.T @ column:
    1 ulp) and — freed before BLAS read it — gave wrong numbers in some processes."""
    m, k, n = mkn
    rng = np.random.default_rng(6)
    fn = K.matmul_f32 if dtype == np.float32 else K.matmul_f64
    a_c = rng.standard_normal((m, k)).astype(dtype)
    b_c = rng.standard_normal((k, n)).astype(dtype)
    a_f = np.asfortranarray(a_c) if m > 1 and k > 1 else a_c.T.copy().T
    b_f = np.asfortranarray(b_c) if k > 1 and n > 1 else b_c.T.copy().T
    for a in (a_c, a_f):
        for b in (b_c, b_f):
            assert np.array_equal(fn(a, b, False, False), a @ b), (a.flags.f_contiguous,)


def test_integer_matmul_loops() -> None:
    a = np.arange(12, dtype=np.int32).reshape(3, 4)
    b = np.arange(8, dtype=np.int32).reshape(4, 2)
    assert np.array_equal(K.matmul_loops(a, b, False, False), a @ b)


@pytest.mark.parametrize("name", ["softmax_rows", "log_softmax_rows"])
def test_softmax_rows(name: str) -> None:
    x = np.random.default_rng(6).standard_normal((9, 13)).astype(np.float32) * 5
    got, want = getattr(K, name)(x), getattr(K, "ref_" + name)(x)
    assert ulps(got, want).max() <= 4


@settings(max_examples=40, deadline=None)
@given(
    rows=st.integers(1, 30),
    cols=st.integers(1, 260),
    scale=st.sampled_from([0.1, 5.0, 40.0, 200.0]),
    seed=st.integers(0, 2**16),
)
def test_softmax_family_over_shapes_and_ranges(
    rows: int, cols: int, scale: float, seed: int
) -> None:
    """float32 rows of any length (the exponentials run as one flat vectorised loop), with
    entries far enough below the row's max that exp underflows to subnormals and zero."""
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal((rows, cols)) * scale).astype(np.float32)
    labels = rng.integers(0, cols, rows).astype(np.int32)
    probs = rng.uniform(0.0, 1.0, (rows, cols)).astype(np.float32)
    shifted = np.abs(x - x.max(axis=1, keepdims=True))
    got, want = K.softmax_rows(x), K.ref_softmax_rows(x)
    assert got.dtype == np.float32
    # each exponential within 3 ulps of numpy's (1 of the true value, numpy's within 2), then
    # the row sum and the division round
    assert ulps(got, want).max() <= 6
    # the others compute lse = log(sum(exp(shifted))): an ulp of the sum near 1 is many ulps
    # of a small logarithm, and subtracting lse from the shifted logits cancels; so they are
    # compared on the scale of their operands (the shifted logits, and 1 for the sum)
    got, want = K.log_softmax_rows(x), K.ref_log_softmax_rows(x)
    assert within_ulps(got, want, 4, scale=1 + shifted + np.abs(want))
    got, want = K.sparse_xent_rows(labels, x), K.ref_sparse_xent_rows(labels, x)
    assert within_ulps(got, want, 4, scale=1 + shifted.max(axis=1) + np.abs(want))
    got, want = K.xent_rows(probs, x), K.ref_xent_rows(probs, x)
    assert within_ulps(got, want, 8, scale=1 + (probs * shifted).sum(axis=1) + np.abs(want))


def test_softmax_family_special_values_and_float64() -> None:
    """NaN anywhere in a row makes the row NaN; +inf rows, -inf entries and float64 inputs
    give numpy's results."""
    x = np.array(
        [
            [1.0, np.nan, 2.0, 0.5],
            [np.nan, 1.0, 2.0, 3.0],
            [1.0, np.inf, 2.0, 0.0],
            [-np.inf, 0.0, 1.0, -np.inf],
            [3.0, 3.0, 3.0, 3.0],
        ],
        np.float32,
    )
    labels = np.array([0, 1, 2, 1, 3], np.int32)
    with np.errstate(invalid="ignore"):
        for name in ("softmax_rows", "log_softmax_rows"):
            got, want = getattr(K, name)(x), getattr(K, "ref_" + name)(x)
            assert np.array_equal(np.isnan(got), np.isnan(want)), name
            assert ulps(got, want).max() <= 4, name
        got = K.sparse_xent_rows(labels, x)
        want = K.ref_sparse_xent_rows(labels, x)
        assert np.array_equal(np.isnan(got), np.isnan(want))
        assert ulps(got, want).max() <= 4
    x64 = np.random.default_rng(3).standard_normal((7, 11)) * 30
    for name in ("softmax_rows", "log_softmax_rows"):
        got, want = getattr(K, name)(x64), getattr(K, "ref_" + name)(x64)
        assert got.dtype == np.float64
        np.testing.assert_allclose(got, want, rtol=1e-14, atol=1e-300)


def test_cross_entropies() -> None:
    rng = np.random.default_rng(7)
    logits = rng.standard_normal((6, 5)).astype(np.float32)
    labels = rng.integers(0, 5, 6).astype(np.int32)
    probs = rng.uniform(0.1, 1, (6, 5)).astype(np.float32)
    probs /= probs.sum(axis=1, keepdims=True)
    assert (
        ulps(K.sparse_xent_rows(labels, logits), K.ref_sparse_xent_rows(labels, logits)).max() <= 4
    )
    assert ulps(K.xent_rows(probs, logits), K.ref_xent_rows(probs, logits)).max() <= 4


def test_one_hot_and_select() -> None:
    idx = np.array([0, 2, 1, 2], np.int64)
    assert np.array_equal(K.one_hot(idx, 3, np.float32), K.ref_one_hot(idx, 3, np.float32))
    assert K.select(True, 1.0, 2.0) == 1.0 and K.select(False, 1.0, 2.0) == 2.0


def test_truncated_normal_draws_what_numpy_legacy_generator_draws() -> None:
    import numba

    @numba.njit
    def seeded(seed: int, n: int) -> Any:
        np.random.seed(seed)
        return K.truncated_normal(n)

    got = seeded(5, 1000)
    want = K.ref_truncated_normal(np.random.RandomState(5), 1000)
    assert np.array_equal(got, want)
    assert np.abs(got).max() <= 2.0 and np.abs(got).max() > 1.9


# --- what the code generator does with them ------------------------------------------------
def test_fused_sum_inside_a_loop_is_numpy_sum() -> None:
    for n in (5, 200, 100_003):
        x = np.random.default_rng(n).standard_normal(n).astype(np.float32)

        @tv.function
        def f(t: tv.Tensor) -> tv.Tensor:
            return tv.reduce_sum(tv.exp(t) * 2.0)

        src = f.get_concrete_function(tv.constant(x)).python_source
        # the summands wait in a buffer; numpy's leaves are summed from it by a kernel
        assert ("K.block_sum" if n <= 128 else "K.leaf_sums") in src
        u = tv.exp(tv.constant(x)) * 2.0  # the compiled exp differs by <= 2 ulps: reuse
        got = f(tv.constant(x))
        assert abs(float(got) - float(np.sum(u.numpy()))) <= 1e-5 * float(np.sum(np.abs(u.numpy())))


@pytest.mark.parametrize("n", [129, 2049, 16_383, 16_385, 100_003, 1_000_003])
def test_fused_sum_over_blocks_of_leaves_is_numpy_sum_bit_for_bit(n: int) -> None:
    """The streaming loop computes up to ``fusion.BLOCK`` summands per pass and then sums
    numpy's leaves from them: sizes across one or many blocks add as numpy does; a
    one-element array broadcast into the loop (read once, before it) scales every term."""
    x = np.random.default_rng(n).standard_normal(n).astype(np.float32)
    s = np.array([0.37], np.float32)

    @tv.function
    def f(t: tv.Tensor, k: tv.Tensor) -> tv.Tensor:
        return tv.reduce_sum(t * k + 1.0)

    src = f.get_concrete_function(tv.constant(x), tv.constant(s)).python_source
    assert "_acc" in src  # numpy's leaves summed in the streaming loop
    # each block's pass is a function of its own, called with the names it reads
    assert "def _loop0(" in src and "        _loop0(" in src
    got = f(tv.constant(x), tv.constant(s)).numpy()
    assert got == np.sum(x * s + np.float32(1.0))


@pytest.mark.parametrize("n", [127, 128, 129, 1000, 8 * 128 + 3, 100_007])
def test_elementwise_gradient_with_a_streamed_sum_is_eager_bit_for_bit(n: int) -> None:
    """The benchmark's W5, ``sum(tanh(x*w + b)**2 * exp(-x))`` and its gradients, compiled
    (the sum streamed: one leaf of numpy's pairwise sum, or blocks of leaves summed by
    ``K.leaf_sums``) gives the eager engine's bits at sizes around numpy's leaves (128
    numbers, 8 accumulators), for a contiguous and for a strided input.  The square is
    written ``t * t``: ``t ** 2`` is Eigen's generic_pow eagerly but ``t * t`` in a
    ``tv.function``, as in TensorFlow (see test_tf_pow.py)."""
    rng = np.random.default_rng(n)
    xs = rng.uniform(-2, 2, 2 * n).astype(np.float32)
    w = tv.Variable(rng.uniform(-1, 1, n).astype(np.float32))
    b = tv.Variable(rng.uniform(-1, 1, n).astype(np.float32))

    def step(x: Any) -> Any:
        with tv.GradientTape() as tape:
            t = tv.tanh(x * w + b)
            loss = tv.reduce_sum(t * t * tv.exp(-x))
        gw, gb = tape.gradient(loss, [w, b])
        return loss, gw, gb

    compiled = tv.function(step)
    src = compiled.get_concrete_function(tv.constant(xs[:n])).python_source
    assert ("K.block_sum" if n <= 128 else "K.leaf_sums") in src
    strided = xs[::2]  # (a numpy array goes in as it is)
    assert not strided.flags.c_contiguous
    for x in (xs[:n], strided):
        want = [t.numpy() for t in step(tv.constant(x))]
        got = [t.numpy() for t in compiled(x)]
        for g_, w_ in zip(got, want, strict=True):
            assert g_.dtype == w_.dtype and g_.tobytes() == w_.tobytes()


def test_sums_of_negative_zeros_are_plus_zero_as_in_numpy() -> None:
    """np.sum adds its pairwise sum to the identity +0.0, so a sum of -0.0s is +0.0 (the
    pairwise sum alone is -0.0 from 8 numbers on): compiled sums, fused or not, agree."""
    for n in (5, 16, 300, 5000):
        x = np.full(n, -0.0, np.float32)

        @tv.function
        def fused(t: tv.Tensor) -> Any:
            return tv.reduce_sum(t * 2.0), tv.reduce_sum(t * 2.0, keepdims=True)

        @tv.function
        def plain(t: tv.Tensor) -> Any:
            return tv.reduce_sum(t), tv.reduce_mean(t)

        for got in (*fused(tv.constant(x)), *plain(tv.constant(x))):
            assert np.all(got.numpy() == 0) and not np.any(np.signbit(got.numpy())), (n, got)


def test_two_fused_sums_of_one_loop_are_numpy_sums_bit_for_bit() -> None:
    """Two full sums accumulated by one streaming loop each keep numpy's order."""
    x = np.random.default_rng(3).standard_normal(70_001).astype(np.float32)

    @tv.function
    def f(t: tv.Tensor) -> Any:
        u = t * 0.5 + 1.0
        return tv.reduce_sum(u), tv.reduce_sum(u * u)

    src = f.get_concrete_function(tv.constant(x)).python_source
    assert src.count("for _blk in") == 1
    s1, s2 = f(tv.constant(x))
    u = x * np.float32(0.5) + np.float32(1.0)
    assert s1.numpy() == np.sum(u) and s2.numpy() == np.sum(u * u)


def test_bias_gradient_sums_rows_like_numpy() -> None:
    rng = np.random.default_rng(8)
    a = rng.standard_normal((37, 11)).astype(np.float32)

    @tv.function
    def f(t: tv.Tensor) -> tv.Tensor:
        return tv.reduce_sum(t * 3.0, axis=0)

    assert "+= " in f.get_concrete_function(tv.constant(a)).python_source
    assert np.array_equal(f(tv.constant(a)).numpy(), np.sum(a * np.float32(3.0), axis=0))


def test_recycled_buffers_never_overwrite_results_in_use() -> None:
    @tv.function
    def f(t: tv.Tensor) -> tv.Tensor:
        return t * 2.0 + 1.0

    a = tv.constant(np.arange(1000, dtype=np.float32))
    kept = f(a)
    expect = kept.numpy()
    for k in range(5):
        f(tv.constant(np.full(1000, float(k), np.float32)))  # results dropped: recycled
    assert np.array_equal(kept.numpy(), expect)
    view = kept.numpy()[::2]
    again = f(a)
    assert np.array_equal(again.numpy(), expect) and np.array_equal(view, expect[::2])


def test_variable_updates_recycle_old_values() -> None:
    w = tv.Variable(np.ones(50_000, np.float32))

    @tv.function
    def step() -> None:
        w.assign(w * 0.5 + 1.0)

    first = w.numpy()
    old = w._value
    for _ in range(4):
        step()
    assert np.array_equal(first, np.ones(50_000, np.float32))  # copies are never touched
    # a large value goes into a recycled buffer, a small one is allocated by the function
    assert "b0" in step.get_concrete_function().python_source
    small = tv.Variable(np.ones(8, np.float32))
    half = tv.function(lambda: small.assign(small * 0.5))
    assert "b0" not in half.get_concrete_function().python_source
    held = small._value
    half()
    half()
    assert np.array_equal(held, np.ones(8, np.float32)) and small.numpy()[0] == 0.25
    assert not small._value.flags.writeable
    assert not old.flags.writeable or old is not w._value
    np.testing.assert_allclose(w.numpy(), 1.9375)


def test_fused_loops_overwrite_only_arrays_nobody_reads_later() -> None:
    rng = np.random.default_rng(3)
    a = tv.constant(rng.standard_normal((6, 5)).astype(np.float32))
    b = tv.constant(rng.standard_normal((5, 4)).astype(np.float32))
    c = tv.constant(rng.standard_normal((4,)).astype(np.float32))
    w = tv.constant(rng.standard_normal((4, 3)).astype(np.float32))
    total = tv.Variable(0.0)

    def body(a: tv.Tensor, b: tv.Tensor, c: tv.Tensor) -> Any:
        m = a @ b  # a new array: a fused loop may write into it
        o = m + c  # stored: cannot take m's array, which p reads after it
        p = o * m  # m's last reader: takes m's array
        n = a @ (b + 1.0) * 2.0  # takes its matmul's array
        q = tv.nn.relu(n)  # n is read again below: q gets its own array
        total.assign(0.0)
        for _ in tv.range(3):  # n is defined outside the loop: never overwritten in it
            total.assign_add(tv.reduce_sum(tv.nn.relu(n - 1.0) @ w))
        return o @ w, p @ w, q @ w, n @ w, total * 1.0

    f = tv.function(body)
    src = f.get_concrete_function(a, b, c).python_source
    assert src.count("overwritten") == 2
    for got, want in zip(f(a, b, c), body(a, b, c), strict=True):
        np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_variable_update_takes_the_gradient_array_and_shares_nothing() -> None:
    """``w.assign_sub(lr * (x.T @ d))``: the update loop writes into the matmul's array (no
    recycled buffer needed) and the Variable's new value is read-only and independent of
    the caller's arrays and of the values it held before (which never change)."""
    rng = np.random.default_rng(4)
    x_np = rng.standard_normal((8, 6)).astype(np.float32)
    d_np = rng.standard_normal((8, 5)).astype(np.float32)
    w0 = rng.standard_normal((6, 5)).astype(np.float32)
    w, w_eager = tv.Variable(w0), tv.Variable(w0)
    lr = np.float32(0.1)

    def step(x: Any, d: Any, w: tv.Variable) -> tv.Tensor:
        w.assign_sub(lr * tv.matmul(x, d, transpose_a=True))
        return tv.reduce_sum(w * 1.0)

    f = tv.function(lambda x, d: step(x, d, w))
    src = f.get_concrete_function(x_np, d_np).python_source
    assert "overwritten" in src and "b0" not in src  # no recycled buffer for w
    held = []  # the Variable's own arrays, as a caller holding tensors of them would
    expect = w0.copy()
    for _ in range(4):
        held.append((w._value, expect))
        f(x_np, d_np)
        step(tv.constant(x_np), tv.constant(d_np), w_eager)
        expect = expect - lr * (x_np.T @ d_np)
        value = w._value
        assert np.array_equal(value, w_eager.numpy())  # bit for bit
        np.testing.assert_array_equal(value, expect)
        assert not value.flags.writeable
        assert not any(np.may_share_memory(value, a) for a in (x_np, d_np))
        assert not any(np.may_share_memory(value, old) for old, _ in held)
    for old, want in held:
        np.testing.assert_array_equal(old, want)


def test_cross_entropy_and_softmax_from_one_kernel_are_bit_equal() -> None:
    rng = np.random.default_rng(8)
    logits = (rng.standard_normal((37, 11)) * 6).astype(np.float32)
    labels = rng.integers(0, 11, 37).astype(np.int32)
    probs = rng.uniform(0, 1, (37, 11)).astype(np.float32)
    loss, sm = K.sparse_xent_softmax_rows(labels, logits)
    assert np.array_equal(loss, K.sparse_xent_rows(labels, logits))
    assert np.array_equal(sm, K.softmax_rows(logits))
    loss, sm = K.xent_softmax_rows(probs, logits)
    assert np.array_equal(loss, K.xent_rows(probs, logits))
    assert np.array_equal(sm, K.softmax_rows(logits))


@pytest.mark.parametrize("sparse", [True, False])
def test_a_training_step_computes_the_softmax_once(sparse: bool) -> None:
    """The loss's cross-entropy and its gradient's softmax of the same logits come from one
    kernel, at the top level and inside a tv.range loop; numbers equal the unpaired ones."""
    rng = np.random.default_rng(9)
    x = tv.constant(rng.standard_normal((16, 4)).astype(np.float32))
    labels = rng.integers(0, 3, 16).astype(np.int32)
    y = tv.constant(labels if sparse else np.eye(3, dtype=np.float32)[labels])
    w0 = (rng.standard_normal((4, 3)) * 0.5).astype(np.float32)
    xent = (
        tv.nn.sparse_softmax_cross_entropy_with_logits
        if sparse
        else tv.nn.softmax_cross_entropy_with_logits
    )

    def run(w: tv.Variable, looped: bool) -> tv.Tensor:
        loss = tv.constant(0.0)
        for _ in tv.range(3) if looped else range(3):
            with tv.GradientTape() as tape:
                loss = tv.reduce_mean(xent(labels=y, logits=x @ w))
            w.assign_sub(0.5 * tape.gradient(loss, w))
        return loss

    for looped in (False, True):
        w_eager, w_comp = tv.Variable(w0), tv.Variable(w0)
        f = tv.function(lambda: run(w_comp, looped))  # noqa: B023 (called in this iteration)
        src = f.get_concrete_function().python_source
        kernel = "K.sparse_xent_softmax_rows(" if sparse else "K.xent_softmax_rows("
        assert src.count(kernel) == 1
        # unrolled, the first two losses are dead code: their steps only need the softmax
        assert src.count("K.softmax_rows(") == (0 if looped else 2)
        got = f()
        want = run(w_eager, False)
        assert abs(float(got) - float(want)) <= 4 * np.spacing(np.float32(want))
        np.testing.assert_allclose(w_comp.numpy(), w_eager.numpy(), rtol=1e-6, atol=1e-7)
