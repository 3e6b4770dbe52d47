"""Complex tensors (complex64/complex128), checked against TensorFlow 2.21's recorded numbers.

tests/data/tf_complex.json is written by tools/record_complex_tf.py (complex numbers stored
as ``[re, im]`` pairs).  TensorFlow's gradient convention, which these numbers pin down: for
a real loss L of z = x + iy, ``tape.gradient(L, z) = ∂L/∂x + i·∂L/∂y``; for a holomorphic f
the VJP is ``g·conj(f'(z))``.  The registry-walking tests (test_ops_registry.py,
``COMPLEX_CASES``) check every complex op by central differences in the real and imaginary
parts, to first and second order; here: TF's numbers, dtypes, errors, printing, records.
"""

from __future__ import annotations

import functools
import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import tapeviz as tv
from tapeviz.ops.complex import COMPLEX_OPS

DATA = Path(__file__).resolve().parents[1] / "data" / "tf_complex.json"


@functools.cache
def _tf() -> dict[str, Any]:
    return json.loads(DATA.read_text(encoding="utf-8"))


def _dec(v: Any, dtype: str) -> np.ndarray:
    a = np.asarray(v, dtype=np.float64)
    if np.dtype(dtype).kind == "c":
        return (a[..., 0] + 1j * a[..., 1]).astype(dtype)
    return a.astype(dtype)


real, imag, conj = tv.math.real, tv.math.imag, tv.math.conj
_A_SHAPE, _B_SHAPE = (2, 3), (3, 4)

# the same functions as tools/record_complex_tf.py, written with tapeviz
FUNCTIONS: dict[str, Any] = {
    "abs": lambda z: tv.abs(z),
    "real_z_conj_z": lambda z: real(z * conj(z)),
    "real": lambda z: real(z),
    "imag": lambda z: imag(z),
    "square_complex_target": lambda z: z * z,
    "exp_complex_target": lambda z: tv.exp(z),
    "real_exp": lambda z: real(tv.exp(z)),
    "angle": lambda z: tv.math.angle(z),
    "div_complex_target": lambda z, w: z / (w + 1),
    "sum_abs2_sqrt_log": lambda z: tv.reduce_sum(tv.abs(tv.sqrt(z) * tv.math.log(z)) ** 2),
    "pow": lambda z, w: real(tv.reduce_sum(z**w)),
    "matmul_abs": lambda a, b: tv.reduce_sum(tv.abs(tv.matmul(a, b))),
    "matmul_complex_target": lambda a, b: tv.matmul(a, b),
    "complex_parts": lambda x, y: tv.abs(tv.complex(x, y) ** 2 + 1),
    "cast_real_to_complex": lambda x: real(tv.cast(x, tv.complex64) * (1 + 1j)) * 2,
    "cast_complex_to_real": lambda z: tv.cast(z, tv.float32) * 3.0,
    "complex128_tanh_sin": lambda z: real(tv.reduce_sum(tv.tanh(z) * tv.sin(z))),
}


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_gradients_match_tensorflow(name: str) -> None:
    entry = _tf()[name]
    inputs = [_dec(v, d) for v, d in zip(entry["inputs"], entry["dtypes"], strict=True)]
    vs = [tv.Variable(x) for x in inputs]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the complex -> real cast warns, as in TF
        with tv.GradientTape() as tape:
            y = FUNCTIONS[name](*vs)
    grads = tape.gradient(y, vs)
    value = _dec(entry["value"], y.dtype.name)
    np.testing.assert_allclose(y.numpy(), value, rtol=2e-6, atol=1e-6, err_msg=f"{name} value")
    for i, (g, ref) in enumerate(zip(grads, entry["grads"], strict=True)):
        assert g is not None, f"{name}: no gradient for input {i}"
        assert g.dtype == vs[i].dtype  # the gradient of a complex source is complex
        np.testing.assert_allclose(
            g.numpy(), _dec(ref, vs[i].dtype.name), rtol=2e-5, atol=2e-6, err_msg=name
        )


def test_the_convention_is_d_dx_plus_i_d_dy() -> None:
    # TF's numbers above, said plainly: gradient(|z|, z) = z/|z|, gradient(Re(z z̄), z) = 2z
    z = tv.Variable(np.complex64(3 - 4j))
    with tv.GradientTape(persistent=True) as tape:
        a = tv.abs(z)
        n = real(z * conj(z))
    assert tape.gradient(a, z).numpy() == np.complex64(0.6 - 0.8j)
    assert tape.gradient(n, z).numpy() == np.complex64(6 - 8j)


@pytest.mark.parametrize("name", ["second_order_abs3", "second_order_exp"])
def test_second_order_matches_tensorflow(name: str) -> None:
    entry = _tf()[name]
    z = tv.Variable(_dec(entry["inputs"][0], "complex64"))
    with tv.GradientTape() as t2:
        with tv.GradientTape() as t1:
            if name == "second_order_abs3":
                y = tv.abs(z) ** 3
            else:
                y = real(tv.reduce_sum(tv.exp(z) * z))
        g1 = t1.gradient(y, z)
        s = real(tv.reduce_sum(g1 * conj(g1))) if name == "second_order_abs3" else None
        if s is None:
            s = tv.reduce_sum(imag(g1) * real(g1))
    g2 = t2.gradient(s, z)
    np.testing.assert_allclose(g1.numpy(), _dec(entry["grad1"], "complex64"), rtol=2e-5)
    np.testing.assert_allclose(g2.numpy(), _dec(entry["grad2"], "complex64"), rtol=2e-5)


def test_finite_differences_in_real_and_imaginary_parts() -> None:
    # L(z) = Σ |exp(z)·w + z²| / (1 + |z|): the gradient's real part is ∂L/∂x, its
    # imaginary part ∂L/∂y (complex128, central differences with step 1e-6)
    z0 = np.array([0.3 + 0.4j, -1.2 + 0.7j, 0.5 - 0.9j])
    w = tv.constant(np.array([1.5 - 0.5j, 0.25 + 2j, -1 + 0.5j]))

    def loss(z: Any) -> Any:
        return tv.reduce_sum(tv.abs(tv.exp(z) * w + z * z) / (1 + tv.abs(z)))

    z = tv.Variable(z0)
    with tv.GradientTape() as tape:
        out = loss(z)
    g = tape.gradient(out, z).numpy()
    eps = 1e-6
    for i in range(3):
        for step, part in ((eps, np.real), (1j * eps, np.imag)):
            plus, minus = z0.copy(), z0.copy()
            plus[i] += step
            minus[i] -= step
            fd = real(loss(tv.constant(plus))).numpy() - real(loss(tv.constant(minus))).numpy()
            assert abs(part(g[i]) - fd / (2 * eps)) < 1e-7


# --- dtypes and conversions ------------------------------------------------------------------
def test_dtypes_and_conversions() -> None:
    assert tv.constant(1 + 2j).dtype == tv.complex128
    assert tv.dtypes.complex64 is tv.complex64
    assert tv.constant(np.array([1 + 2j], np.complex64)).dtype == tv.complex64
    assert tv.constant(np.array([1 + 2j])).dtype == tv.complex128
    assert tv.constant([1.0, 2j]).dtype == tv.complex128
    assert tv.constant(1, tv.complex64).numpy() == np.complex64(1)
    assert tv.complex(1.0, 2.0).dtype == tv.complex64
    assert tv.complex(tv.constant(1.0, tv.float64), 2.0).dtype == tv.complex128
    assert tv.complex64.is_complex and not tv.complex64.is_floating
    assert tv.complex64.real_dtype == tv.float32
    assert tv.complex128.real_dtype == tv.float64
    assert tv.float32.real_dtype == tv.float32 and tv.complex64.size == 8
    assert tv.as_dtype(complex) == tv.complex128 and tv.as_dtype("complex64") == tv.complex64
    z = tv.constant([1 + 2j, -3 + 0.5j], tv.complex64)
    assert tv.abs(z).dtype == tv.float32 and tv.math.angle(z).dtype == tv.float32
    assert tv.abs(tv.constant(3 + 4j)).numpy() == 5.0
    np.testing.assert_array_equal(real(z).numpy(), np.float32([1, -3]))
    np.testing.assert_array_equal(imag(z).numpy(), np.float32([2, 0.5]))
    np.testing.assert_array_equal(conj(z).numpy(), np.complex64([1 - 2j, -3 - 0.5j]))
    # of real tensors (as TF): real/conj unchanged, imag zeros, angle 0 or π
    x = tv.constant([2.0, -2.0])
    assert real(x) is x and conj(x) is x
    np.testing.assert_array_equal(imag(x).numpy(), np.float32([0, 0]))
    np.testing.assert_allclose(tv.math.angle(x).numpy(), [0, np.pi], rtol=1e-7)
    # Python numbers take the complex tensor's dtype
    assert (z + 1.0).dtype == tv.complex64 and (z * 2).dtype == tv.complex64
    assert (z + 1j).numpy()[0] == np.complex64(1 + 3j)
    assert complex(tv.constant(1 + 2j)) == 1 + 2j
    assert tv.norm(z).dtype == tv.complex64
    np.testing.assert_allclose(
        tv.norm(tv.constant(_dec(_tf()["abs"]["inputs"][0], "complex64"))).numpy(),
        _dec(_tf()["print"]["norm"], "complex64"),
        rtol=1e-6,
    )


def test_casts_to_and_from_complex() -> None:
    z = tv.constant([1.5 + 2j, -3.7 + 0.5j], tv.complex64)
    with pytest.warns(UserWarning, match="discard the imaginary part"):
        r = tv.cast(z, tv.float32)
    np.testing.assert_array_equal(r.numpy(), np.float32([1.5, -3.7]))
    with pytest.warns(UserWarning, match="discard the imaginary part"):
        i = tv.cast(z, tv.int32)
    np.testing.assert_array_equal(i.numpy(), np.int32([1, -3]))  # truncated, as TF
    c = tv.cast(tv.constant([1.5, 2.0]), tv.complex64)
    np.testing.assert_array_equal(c.numpy(), np.complex64([1.5, 2]))
    assert tv.cast(z, tv.complex128).dtype == tv.complex128


def test_no_promotion_between_real_and_complex() -> None:
    z = tv.constant([1 + 2j], tv.complex64)
    with pytest.raises(TypeError, match=r"add: x is complex64 but y is float32.*tv\.cast"):
        z + tv.constant([1.0])
    with pytest.raises(TypeError, match="x is float32 but y is complex64"):
        tv.constant([1.0]) * z
    with pytest.raises(TypeError, match="complex64 but y is complex128"):
        z - tv.constant([1j])
    with pytest.raises(TypeError, match="it is complex"):
        tv.constant(1.0) + 1j
    with pytest.raises(TypeError, match="it is complex"):
        tv.constant(1j, tv.float32)
    with pytest.raises(TypeError, match=r"both float32 .* or both float64"):
        tv.complex(tv.constant(1.0), tv.constant(2.0, tv.float64))
    with pytest.raises(TypeError, match="both float32"):
        tv.complex(tv.constant(1), tv.constant(2))


@pytest.mark.parametrize(
    "call",
    [
        lambda z: tv.nn.relu(z),
        lambda z: z < z,
        lambda z: z >= z,
        lambda z: tv.maximum(z, z),
        lambda z: tv.reduce_max(z),
        lambda z: tv.reduce_min(z),
        lambda z: tv.argmax(z),
        lambda z: tv.nn.softmax(z),
        lambda z: tv.clip_by_value(z, 0, 1),
        lambda z: tv.sign(z),
        lambda z: z // z,
        lambda z: z % z,
        lambda z: tv.nn.elu(z),
        lambda z: tv.clip_by_norm(z, 1.0),
    ],
)
def test_ops_without_complex_kernels_say_so(call: Any) -> None:
    z = tv.constant([1 + 2j, -3 + 0.5j], tv.complex64)
    with pytest.raises(TypeError, match=r"does not take complex tensors \(complex64\).*real"):
        call(z)


def test_dtype_limits_of_complex_are_an_error() -> None:
    with pytest.raises(TypeError, match="not ordered"):
        _ = tv.complex64.max


def test_every_registered_op_either_takes_complex_or_raises() -> None:
    # the registry test's own cases, with complex inputs: ops listed in COMPLEX_OPS must
    # match numpy's complex arithmetic (or be covered by COMPLEX_CASES); all others raise
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from tests.engine import test_ops_registry as reg

    checked = []

    @settings(max_examples=3, deadline=None)
    @given(data=st.data())
    def run(name: str, data: Any) -> None:
        d = reg.CASES[name](data)
        if not any(a.dtype.kind == "f" for a in d.arrays) or name.startswith("complex"):
            return
        arrays = [a + 0.5j * np.cos(3 * a) if a.dtype.kind == "f" else a for a in d.arrays]
        try:
            out = d.fn(*[tv.constant(a) for a in arrays])
        except TypeError as e:
            assert name not in COMPLEX_OPS, f"{name} rejects complex: {e}"
            assert "complex" in str(e), f"{name}: unclear error {e}"
            return
        assert name in COMPLEX_OPS, f"{name} took complex inputs but is not in COMPLEX_OPS"
        np.testing.assert_allclose(out.numpy(), d.ref(*arrays), rtol=1e-10, atol=1e-12)

    for name in reg.DIFF_OPS:
        if name in ("custom_gradient", "cast", "real", "imag", "conj", "angle", "abs"):
            continue  # user code; the casts, parts and |z| (complex_abs) have their own tests
        run(name)
        checked.append(name)
    assert len(checked) >= 40
    assert set(reg.COMPLEX_CASES) <= COMPLEX_OPS


# --- tapes, variables, optimizers ------------------------------------------------------------
def test_complex_variables_are_watched_and_optimizers_refuse_them() -> None:
    z = tv.Variable([1 + 2j], dtype=tv.complex64)
    with tv.GradientTape() as tape:
        loss = tv.reduce_sum(tv.abs(z) ** 2)
    g = tape.gradient(loss, z)
    np.testing.assert_allclose(g.numpy(), [2 + 4j], rtol=1e-6)
    assert tape.watched_variables() == (z,)
    with pytest.raises(TypeError, match=r"two float\s+Variables.*tv\.complex\(re, im\)"):
        tv.keras.optimizers.SGD(0.1).apply_gradients([(g, z)])
    # the suggested recipe works: descend on the parts
    re, im = tv.Variable([1.0]), tv.Variable([2.0])
    opt = tv.keras.optimizers.SGD(0.1)
    with tv.GradientTape() as tape:
        loss = tv.reduce_sum(tv.abs(tv.complex(re, im)) ** 2)
    opt.apply_gradients(zip(tape.gradient(loss, [re, im]), [re, im], strict=True))
    np.testing.assert_allclose([re.numpy()[0], im.numpy()[0]], [0.8, 1.6], rtol=1e-6)


def test_watching_a_complex_constant_does_not_warn() -> None:
    c = tv.constant(1 + 1j)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with tv.GradientTape() as tape:
            tape.watch(c)
            y = real(c * c)
    assert tape.gradient(y, c).numpy() == 2 - 2j


# --- printing and records --------------------------------------------------------------------
def test_printing_as_tensorflow() -> None:
    p = _tf()["print"]
    tf_to_tv = lambda s: s.replace("tf.", "tv.")  # noqa: E731
    assert str(tv.constant(1 + 2j)) == tf_to_tv(p["str_scalar"])
    assert repr(tv.constant(1 + 2j)) == tf_to_tv(p["repr_scalar"])
    assert str(tv.constant([1 + 2j, 3 - 4j], tv.complex64)) == tf_to_tv(p["str_vector64"])
    assert repr(tv.constant([[1 + 2j, 3 - 4j]])) == tf_to_tv(p["repr_matrix"])
    assert f"{tv.constant(1 + 2j):.2f}" == p["format_2f"]
    assert f"{tv.constant(1 + 2j)}" == p["format_plain"]
    assert tv.abs(tv.constant(3 + 4j)).dtype.name == p["abs_dtype"]
    assert tv.complex(1.0, 2.0).dtype.name == p["complex_of_floats"]
    v = tv.Variable(np.complex64(1 - 0.5j), name="z")
    assert repr(v) == "<tv.Variable 'z:0' shape=() dtype=complex64, numpy=(1-0.5j)>"


def test_record_json_round_trip_and_labels() -> None:
    z = tv.Variable([1 + 2j, -3 + 0.5j], dtype=tv.complex64, name="z")
    with tv.GradientTape() as tape:
        y = tv.reduce_sum(tv.abs(tv.exp(z) * z))
    tape.gradient(y, z)
    record = tape.record()
    data = json.loads(record.to_json())
    node = data["nodes"][0]
    assert node["dtype"] == "complex64"
    assert node["value"] == [[1.0, 2.0], [-3.0, 0.5]]  # complex numbers as [re, im] pairs
    again = tv.graph.Record.from_json(record.to_json())
    assert again == record
    assert again.nodes[0].value.dtype == np.complex64
    zid = record.nodes[0].id
    np.testing.assert_array_equal(again.gradients[zid], record.gradients[zid])
    assert again.gradients[zid].dtype == np.complex64
    assert tv.graph.format_value(np.complex64([1 + 2j, -3 + 0.5j])) == "[1+2j,-3+0.5j]"
    assert tv.graph.format_value(np.complex128(-0.25 - 1j)) == "-0.25-1j"
    dot = tv.viz.graph(tape).source
    assert "1+2j" in dot and "complex64" in dot


def test_tv_function_runs_complex_programs_on_the_interpreter() -> None:
    # numba has no complex kernels here: the program runs on the numpy interpreter, with
    # the eager numbers (no compiled source, no numba traceback)
    v = tv.Variable([1 + 2j, -3 + 0.5j], dtype=tv.complex64)

    def step() -> Any:
        with tv.GradientTape() as tape:
            loss = tv.reduce_sum(tv.abs(v) ** 2)
        g = tape.gradient(loss, v)
        v.assign_sub(0.1 * g)
        return loss, g

    compiled = tv.function(step)
    loss, g = compiled()
    np.testing.assert_allclose(loss.numpy(), 14.25, rtol=1e-6)
    np.testing.assert_allclose(g.numpy(), [2 + 4j, -6 + 1j], rtol=1e-6)
    np.testing.assert_allclose(v.numpy(), [0.8 + 1.6j, -2.4 + 0.4j], rtol=1e-6)
    assert compiled.get_concrete_function().source is None
    parts = tv.function(lambda x: tv.abs(tv.complex(x, 2 * x)) + real(tv.exp(tv.complex(x, x))))
    x = tv.constant([1.0, -0.5])
    eager = tv.abs(tv.complex(x, 2 * x)) + real(tv.exp(tv.complex(x, x)))
    np.testing.assert_array_equal(parts(x).numpy(), eager.numpy())


def test_formulas_show_the_conjugated_values() -> None:
    # the record's VJP formulas say what the rules compute: g · conj(w), g · conj(exp z)
    z = tv.Variable([1 + 2j], dtype=tv.complex64, name="z")
    w = tv.constant([0.5 - 1j], tv.complex64, name="w")
    with tv.GradientTape() as tape:
        e = tv.exp(z)
        y = tv.reduce_sum(tv.abs(e * w))
    tape.gradient(y, z)
    formulas = [s.formula for s in tape.record().sweep]
    assert any(
        "∂L/∂e += ∂L/∂" in f and "· conj(w)" in f and "conj([0.5-1j])" in f for f in formulas
    )
    assert any(f.startswith("∂L/∂z += ∂L/∂e · conj(e)") for f in formulas), formulas
