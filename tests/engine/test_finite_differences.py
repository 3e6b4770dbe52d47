"""A property: gradients of random polynomials and compositions of unary ops agree with
central finite differences in float64.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

import tapeviz as tv

from .sweeps import F64, fd

# --- a property: gradients of random polynomials/compositions against finite differences ---------
_UNARY = {
    "sin": (tv.sin, np.sin),
    "tanh": (tv.tanh, np.tanh),
    "exp": (lambda t: tv.exp(t * 0.3), lambda t: np.exp(t * 0.3)),
    "sq": (tv.square, np.square),
}


@hyp_settings(max_examples=60, deadline=None, derandomize=True)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["+", "-", "*", "/", "**", "u"]),
            st.sampled_from(list(_UNARY)),
            st.integers(0, 10),
            st.floats(0.5, 2.0),
            st.booleans(),
        ),
        min_size=1,
        max_size=8,
    ),
    st.lists(st.floats(0.2, 1.5), min_size=3, max_size=3),
)
def test_random_compositions_against_finite_differences(prog: list[Any], x0: list[float]) -> None:
    def run(vals: list[Any], lib: str) -> Any:
        pool = list(vals)
        for kind, uname, pick, num, left in prog:
            a = pool[pick % len(pool)]
            if kind == "u":
                fn = _UNARY[uname][0 if lib == "tv" else 1]
                t = fn(a)
            elif kind == "**":
                t = a**2.0 if left else num ** (a * 0.1)
            elif kind == "/":
                t = a / (a * a + num) if left else num / (a * a + 1.0)
            else:
                op = {"+": lambda p, q: p + q, "-": lambda p, q: p - q, "*": lambda p, q: p * q}[
                    kind
                ]
                t = op(a, num) if left else op(num, a)
                t = t + pool[(pick + 1) % len(pool)] * 0.5
            pool.append(t)
        return pool[-1]

    xs = [tv.Variable(v, dtype=F64) for v in x0]
    with tv.GradientTape(persistent=True) as tape:
        y = run(xs, "tv")
    grads = tape.gradient(y, xs, unconnected_gradients="zero")
    for i in range(3):

        def f(v: np.ndarray, i: int = i) -> float:
            vals = [np.float64(x) for x in x0]
            vals[i] = np.float64(v)
            return float(run(vals, "np"))

        np.testing.assert_allclose(float(grads[i]), fd(f, x0[i]), rtol=1e-5, atol=1e-7)
    # the replayed record gives the same gradients as the sweep, bit for bit
    rec = tape.record()
    for x, g in zip(xs, grads, strict=True):
        node = rec.node_of(x)
        if node is not None and node.id in rec.gradients:
            assert rec.gradients[node.id].tolist() == float(g)
