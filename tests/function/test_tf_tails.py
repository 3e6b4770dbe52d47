"""A tensor's last ``n % 8`` float32 numbers, as TensorFlow 2.21 computes them on CPU.

TensorFlow's elementwise kernels run Eigen's packet code on the flattened tensor in packets
of 8 and its scalar code on the last ``n % 8`` numbers: the C library's ``expf``, ``logf``,
``sinf``, ``cosf``, ``powf``, and ``e / (1 + e)`` for sigmoid (tanh's scalar code is its
polynomial).  ``tests/data/tf_tails.npz`` (``tools/record_tails_tf.py``) holds TensorFlow's
results for tensors of 1 to 4101 numbers, of rank 1 to 3, with special values in some
tails, and ``pow`` with a scalar and broadcast operands.  Eager code (the numpy versions and
the compiled loops), compiled code (the op whole, and inside a loop of other ops) and the
interpreter give TensorFlow's bits.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import tapeviz as tv
from tapeviz import _eigen_f32 as E
from tapeviz.compiler import interp
from tapeviz.compiler import kernels as K

pytestmark = pytest.mark.skipif(
    os.environ.get("NUMBA_DISABLE_JIT", "0") not in ("", "0") or not K.FLUSHES_SUBNORMALS,
    reason="numba kernels, compared with subnormals flushed (x86-64)",
)

DATA = np.load(Path(__file__).parent.parent / "data" / "tf_tails.npz")
NAMES = ["exp", "log", "tanh", "sigmoid", "sin", "cos", "pow"]
_TINY = np.finfo(np.float32).tiny


def _cases(name: str) -> list[tuple[np.ndarray, ...]]:
    """(inputs..., TensorFlow's result) of each recorded tensor of ``name``."""
    out = []
    k = 0
    while f"{name}_{k}_tf" in DATA:
        ins = [DATA[f"{name}_{k}_x"]] + ([DATA[f"pow_{k}_y"]] if name == "pow" else [])
        out.append((*ins, DATA[f"{name}_{k}_tf"]))
        k += 1
    return out


def _op(name: str) -> Any:
    return tv.pow if name == "pow" else getattr(tv.math, name)


def _assert_same(got: Any, want: np.ndarray, what: str) -> None:
    got = np.asarray(got, np.float32)
    assert got.shape == want.shape, what
    same = (got.view(np.int32) == want.view(np.int32)) | (np.isnan(got) & np.isnan(want))
    assert same.all(), (what, np.argwhere(~same)[:5].tolist(), got[~same][:5], want[~same][:5])


def _flushed(a: np.ndarray) -> np.ndarray:
    """``a`` with subnormals made zeros, as TensorFlow's next kernel reads them."""
    return np.where((np.abs(a) < _TINY), np.copysign(np.float32(0), a), a).astype(np.float32)


def test_the_data_tells_the_tail_from_the_packets() -> None:
    """Each function but tanh has tail numbers where Eigen's packet code would differ from
    TensorFlow's result, so the tests below fail if tails took the packet code."""
    for name in NAMES:
        differ = 0
        for *ins, want in _cases(name):
            if name == "pow":
                x, y = np.broadcast_arrays(*ins)
                x, y = (np.ascontiguousarray(a).ravel() for a in (x, y))
                packet = K.pow32_loop(x, y)
            else:
                packet = _loop_kernel(name, ins[0].ravel())
            flat = want.ravel()
            tail = slice(flat.size - flat.size % 8, flat.size)
            differ += int(np.sum(packet[tail].view(np.int32) != flat[tail].view(np.int32)))
        assert (differ == 0) == (name == "tanh"), (name, differ)


def _loop_kernel(name: str, x: np.ndarray) -> np.ndarray:
    fp = K.flush_subnormals_enter()
    try:
        return np.array([getattr(K, name + "32")(v) for v in x], np.float32)
    finally:
        K.flush_subnormals_leave(fp)


@pytest.mark.parametrize("loaded", [False, True], ids=["numpy-versions", "compiled-loops"])
@pytest.mark.parametrize("name", NAMES)
def test_eager(name: str, loaded: bool, monkeypatch: Any) -> None:
    if loaded:
        assert E.load_compiled(wait=True)
    else:
        monkeypatch.setattr(E, "LOOPS", {})
        monkeypatch.setitem(E._load, "started", True)  # (no loading meanwhile)
    for *ins, want in _cases(name):
        got = _op(name)(*[tv.constant(a) for a in ins]).numpy()
        _assert_same(got, want, f"{name} {[a.shape for a in ins]}")


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")  # (numpy's, as eager)
@pytest.mark.parametrize("name", NAMES)
def test_compiled_whole_fused_and_interpreted(name: str) -> None:
    """One tv.function per function over all its recorded tensors: each op alone (lowered
    whole) and followed by a multiplication (which a loop over the elements fuses with it
    only for a multiple of 8 numbers), then the same program on the interpreter."""
    cases = _cases(name)
    arity = 2 if name == "pow" else 1
    op = _op(name)

    def program(*args: tv.Tensor) -> list[tv.Tensor]:
        out = []
        for i in range(0, len(args), arity):
            ins = args[i : i + arity]
            out.append(op(*ins))
            out.append(op(*ins) * 2.0)
        return out

    args = [tv.constant(a) for *ins, _ in cases for a in ins]
    f = tv.function(program)
    compiled = f(*args)
    cf = f.get_concrete_function(*args)
    fp = K.flush_subnormals_enter()  # (as tv.function runs it: TensorFlow's FTZ and DAZ)
    try:
        outs, _ = interp.run(cf.program, [a._value for a in args], [])
    finally:
        K.flush_subnormals_leave(fp)
    interpreted = [outs[v] for kind, v in cf._out_leaves if kind == "out"]
    for k, (*ins, want) in enumerate(cases):
        what = f"{name} {[a.shape for a in ins]}"
        _assert_same(compiled[2 * k].numpy(), want, what + " whole")
        with np.errstate(over="ignore"):
            twice = _flushed(want * np.float32(2))
        _assert_same(compiled[2 * k + 1].numpy(), twice, what + " fused")
        _assert_same(interpreted[2 * k], want, what + " interpreted")
        _assert_same(interpreted[2 * k + 1], twice, what + " interpreted, fused")
