"""Small matrix products: a fixed order of sums, the same bits on every CPU, eager = compiled.

``tapeviz.ops.linalg`` computes float products of at most ``FIXED_ORDER_MAX_MACS``
multiply-adds in one of two fixed orders (``"chain"``: TensorFlow's, one fused multiply-add
per term; ``"pairwise"``: float64 products summed as ``np.sum`` sums), larger ones with BLAS.
These tests check each order against a plain-Python statement of it, the compiled kernels
against the eager op bit for bit, the choice the code generator makes, and — in new
processes — that OpenBLAS's kernel for the CPU (``OPENBLAS_CORETYPE``) changes no bit of a
small product while it does change large ones.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

import numpy as np
import pytest

import tapeviz as tv
from tapeviz.compiler import codegen
from tapeviz.compiler import kernels as K
from tapeviz.ops.linalg import CHAIN_MAX_K, FIXED_ORDER_MAX_MACS, fixed_order

from .processes import run_python

JIT_DISABLED = os.environ.get("NUMBA_DISABLE_JIT", "0") not in ("", "0")

F32, F64 = np.dtype(np.float32), np.dtype(np.float64)


def _op(x: np.ndarray, t: bool) -> np.ndarray:
    return x.T if t else x


def _operands(
    rng: np.random.Generator, m: int, k: int, n: int, ta: bool, tb: bool, dtype: Any
) -> tuple[np.ndarray, np.ndarray]:
    a = rng.standard_normal((k, m) if ta else (m, k)).astype(dtype)
    b = rng.standard_normal((n, k) if tb else (k, n)).astype(dtype)
    return a, b


def _eager(a: np.ndarray, b: np.ndarray, ta: bool = False, tb: bool = False) -> np.ndarray:
    out = tv.matmul(tv.constant(a), tv.constant(b), transpose_a=ta, transpose_b=tb).numpy()
    assert isinstance(out, np.ndarray)
    return out


def _bits(x: np.ndarray) -> bytes:
    return np.ascontiguousarray(x).tobytes()


def test_which_products_take_a_fixed_order() -> None:
    assert FIXED_ORDER_MAX_MACS == 64 * 64 * 64 and CHAIN_MAX_K == 64
    assert fixed_order(F32, 64, 64, 64) == "chain"
    assert fixed_order(F64, 1, 64, 1) == "chain"
    assert fixed_order(F32, 1, 65, 1) == "pairwise"
    assert fixed_order(F32, 2, 4096, 32) == "pairwise"
    assert fixed_order(F32, 65, 64, 64) is None  # BLAS
    assert fixed_order(F32, 256, 784, 64) is None
    for dtype in (np.int32, np.int64, np.float16):  # no BLAS: numpy's own (fixed) loops
        assert fixed_order(np.dtype(dtype), 2, 2, 2) is None


def _chain_spec(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The chain order in plain Python floats (IEEE doubles): ``acc = a·b + acc`` from +0,
    stored in the result's type after each term."""
    m, k = a.shape
    n = b.shape[1]
    out = np.zeros((m, n), a.dtype)
    for i in range(m):
        for j in range(n):
            acc = a.dtype.type(0.0)
            for p in range(k):
                acc = a.dtype.type(float(a[i, p]) * float(b[p, j]) + float(acc))
            out[i, j] = acc
    return out


def _pairwise_spec(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The pairwise order: each entry's float64 products in a 1-D array, ``np.sum``, one
    rounding."""
    m, n = a.shape[0], b.shape[1]
    out = np.zeros((m, n), a.dtype)
    for i in range(m):
        for j in range(n):
            prods = np.array([float(a[i, p]) * float(b[p, j]) for p in range(a.shape[1])])
            out[i, j] = a.dtype.type(np.sum(prods))
    return out


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("mkn", [(1, 1, 1), (2, 3, 4), (5, 64, 3), (1, 65, 1), (3, 200, 2)])
def test_eager_products_follow_their_order(dtype: Any, mkn: tuple[int, int, int]) -> None:
    m, k, n = mkn
    rng = np.random.default_rng(k)
    spec = _chain_spec if fixed_order(np.dtype(dtype), m, k, n) == "chain" else _pairwise_spec
    for ta in (False, True):
        for tb in (False, True):
            a, b = _operands(rng, m, k, n, ta, tb, dtype)
            got = _eager(a, b, ta, tb)
            assert got.dtype == dtype and got.shape == (m, n)
            assert _bits(got) == _bits(spec(_op(a, ta), _op(b, tb))), (ta, tb)


def test_chain_is_a_fused_multiply_add_per_term() -> None:
    # x = 1 + 2^-12: x·x = 1 + 2^-11 + 2^-24 rounds to r = 1 + 2^-11 in float32.  The chain
    # takes r, then adds -x·x with one rounding: r - x·x = -2^-24 exactly.  A rounded product
    # would give r - r = 0, and so would a sum of the exact products.
    x = 1 + 2.0**-12
    a = np.array([[x, -x]], np.float32)
    b = np.array([[x], [x]], np.float32)
    assert _eager(a, b)[0, 0] == np.float32(-(2.0**-24))
    # the terms are taken in order: (1e8 + 1) - 1e8 = 0 in float32, while 1e8 - 1e8 + 1 = 1
    a = np.array([[1e8, 1.0, -1e8]], np.float32)
    assert _eager(a, np.ones((3, 1), np.float32))[0, 0] == 0.0
    assert _eager(a[:, [0, 2, 1]], np.ones((3, 1), np.float32))[0, 0] == 1.0


def test_batched_products_broadcast_and_follow_the_same_order() -> None:
    rng = np.random.default_rng(3)
    a = rng.standard_normal((2, 1, 3, 4)).astype(np.float32)
    b = rng.standard_normal((3, 4, 2)).astype(np.float32)
    got = _eager(a, b)
    assert got.shape == (2, 3, 3, 2)
    for i in range(2):
        for j in range(3):
            assert _bits(got[i, j]) == _bits(_chain_spec(a[i, 0], b[j]))


def test_large_batches_take_the_products_a_part_at_a_time(monkeypatch: Any) -> None:
    """Above ``_MAX_PRODUCTS`` float64 products the eager op holds fewer at once (one term
    of the chain, one matrix of a pairwise batch): the same numbers."""
    from tapeviz.ops import linalg

    rng = np.random.default_rng(4)
    shapes = [((3, 1, 5, 8), (2, 8, 4)), ((2, 3, 100), (1, 100, 2))]  # chain, pairwise
    pairs = [[rng.standard_normal(s).astype(np.float32) for s in ab] for ab in shapes]
    whole = [_eager(a, b) for a, b in pairs]
    monkeypatch.setattr(linalg, "_MAX_PRODUCTS", 1)
    for (a, b), want in zip(pairs, whole, strict=True):
        assert _bits(_eager(a, b)) == _bits(want)


def test_signed_zeros_inf_and_nan_as_tensorflow() -> None:
    # every entry starts at +0, so products that are all -0 give +0 (as Eigen and BLAS do)
    a = np.array([[-1.0, -2.0]], np.float32)
    assert np.signbit(_eager(a, np.zeros((2, 1), np.float32))).tolist() == [[False]]
    a = np.array([[np.inf, 1.0], [0.0, 1.0]], np.float32)
    b = np.array([[1.0, 0.0], [1.0, 1.0]], np.float32)
    with np.errstate(all="raise"):  # and no numpy warnings
        out = _eager(a, b)
    assert out[0, 0] == np.inf and np.isnan(out[0, 1]) and out[1].tolist() == [1.0, 1.0]
    big = np.full((1, 2), 3e38, np.float32)  # the sum overflows float32: inf, silently
    with np.errstate(all="raise"):
        assert _eager(big, np.ones((2, 1), np.float32))[0, 0] == np.inf


# --- compiled = eager ----------------------------------------------------------------------
def _layouts(x: np.ndarray) -> list[np.ndarray]:
    """C-contiguous, Fortran-contiguous and a strided view of the same values."""
    wide = np.zeros((x.shape[0], 2 * x.shape[1]), x.dtype)
    wide[:, ::2] = x
    return [x, np.asfortranarray(x), wide[:, ::2]]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("mkn", [(1, 1, 1), (3, 1, 4), (4, 7, 5), (2, 64, 3), (3, 65, 2)])
def test_kernels_equal_the_eager_op_bit_for_bit(dtype: Any, mkn: tuple[int, int, int]) -> None:
    m, k, n = mkn
    kernel = getattr(K, f"{fixed_order(np.dtype(dtype), m, k, n)}_matmul")
    rng = np.random.default_rng(m * 100 + k)
    for ta in (False, True):
        for tb in (False, True):
            a0, b0 = _operands(rng, m, k, n, ta, tb, dtype)
            a0[0, 0] = -0.0  # signed zeros and a product that overflows float32 take part
            b0[-1, -1] = 3e38 if k > 1 else b0[-1, -1]
            want = _eager(a0, b0, ta, tb)
            for a in _layouts(a0):
                for b in _layouts(b0):
                    with np.errstate(over="ignore"):  # NUMBA_DISABLE_JIT: numpy scalars
                        got = kernel(a, b, ta, tb)
                    assert got.dtype == dtype and _bits(got) == _bits(want), (ta, tb)


def test_empty_products() -> None:
    for m, k, n in ((0, 3, 2), (2, 0, 3), (3, 70, 0)):
        a, b = np.ones((m, k), np.float32), np.ones((k, n), np.float32)
        kernel = getattr(K, f"{fixed_order(F32, m, k, n)}_matmul")
        assert (
            _bits(kernel(a, b, False, False))
            == _bits(_eager(a, b))
            == _bits(np.zeros((m, n)).astype(np.float32))
        )


@pytest.mark.parametrize(
    ("shapes", "kernel"),
    [
        (((2, 1, 4, 8), (3, 8, 2)), "K.chain_matmul"),
        (((5, 100), (100, 1)), "K.pairwise_matmul"),
        (((70, 70), (70, 70)), "K.matmul_f32"),
    ],
)
def test_compiled_code_makes_the_eager_choice(
    shapes: tuple[tuple[int, ...], tuple[int, ...]], kernel: str
) -> None:
    rng = np.random.default_rng(7)
    a, b = (tv.constant(rng.standard_normal(s).astype(np.float32)) for s in shapes)

    @tv.function
    def f(x: tv.Tensor, y: tv.Tensor) -> Any:
        with tv.GradientTape() as tape:
            tape.watch([x, y])
            z = tv.matmul(x, y)
            loss = tv.reduce_sum(z * z)
        return z, tape.gradient(loss, [x, y])

    body = codegen.generate(f.get_concrete_function(a, b).program, "f").body
    assert kernel + "(" in body
    z, (gx, gy) = f(a, b)
    with tv.GradientTape() as tape:
        tape.watch([a, b])
        z_e = tv.matmul(a, b)
        loss = tv.reduce_sum(z_e * z_e)
    gx_e, gy_e = tape.gradient(loss, [a, b])
    for got, want in ((z, z_e), (gx, gx_e), (gy, gy_e)):
        assert _bits(got.numpy()) == _bits(want.numpy())


# --- the same bits under every OpenBLAS kernel ---------------------------------------------
_PRINT_DIGESTS = """
    import hashlib
    import numpy as np
    import tapeviz as tv

    rng = np.random.default_rng(0)
    def digest(m, k, n, dtype=np.float32):
        a = tv.constant(rng.standard_normal((m, k)).astype(dtype))
        b = tv.constant(rng.standard_normal((k, n)).astype(dtype))
        with tv.GradientTape() as tape:
            tape.watch([a, b])
            z = tv.matmul(a, b)
        grads = tape.gradient(z, [a, b], output_gradients=tv.ones_like(z) * 0.5)
        data = b"".join(t.numpy().tobytes() for t in [z, *grads])
        return hashlib.sha1(data).hexdigest()[:12]
    small = [digest(*s) for s in [(50, 2, 1), (2, 50, 1), (1, 30, 1), (32, 32, 32), (8, 16, 4),
                                  (4, 1000, 3), (20, 7, 9, 'f8')]]
    print("small", *small)
    print("large", digest(100, 100, 100))
"""


def _digests(coretype: str | None) -> dict[str, list[str]]:
    code = _PRINT_DIGESTS.replace("'f8'", "np.float64")
    env = {"OPENBLAS_CORETYPE": coretype} if coretype else {}
    lines = run_python(code, env).split("\n")
    return {line.split()[0]: line.split()[1:] for line in lines if line.strip()}


def test_small_products_are_the_same_under_every_openblas_kernel() -> None:
    """Haswell (AVX2), Prescott (SSE3) and the CPU's own choice (SkylakeX on AVX-512): BLAS
    sums in another order on each, which changes large products — never small ones."""
    runs = {kind: _digests(kind) for kind in (None, "Haswell", "Prescott")}
    small = {kind: d["small"] for kind, d in runs.items()}
    assert small[None] == small["Haswell"] == small["Prescott"], small
    large = {d["large"][0] for d in runs.values()}
    assert len(large) > 1, (
        "OPENBLAS_CORETYPE changed nothing: is numpy's OpenBLAS not DYNAMIC_ARCH?"
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
