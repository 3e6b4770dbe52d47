"""The ``numpy_crosscheck_of_legacy_updates`` section of tests/data/tf_reference.json: each
legacy optimizer's update rule written in float32 numpy, fed TensorFlow's gradients of the
``optimizers`` problem, compared bit for bit with TensorFlow's trajectory."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from _tfrecord import decode, keras
from _tfref_optimizers import _legacy_config

F = np.float32
Rule = Callable[[np.ndarray, np.ndarray, dict[str, Any], int], np.ndarray]


def _sgd(lr: float) -> Rule:
    def step(var: np.ndarray, g: np.ndarray, state: dict[str, Any], t: int) -> np.ndarray:
        return np.asarray(var - F(lr) * g)

    return step


def _momentum(lr: float, momentum: float, nesterov: bool) -> Rule:
    def step(var: np.ndarray, g: np.ndarray, state: dict[str, Any], t: int) -> np.ndarray:
        m = state.get("m", np.zeros_like(var))
        m = F(momentum) * m - F(lr) * g
        state["m"] = m
        if nesterov:
            return np.asarray(var + (F(momentum) * m - F(lr) * g))
        return np.asarray(var + m)

    return step


def _adam(lr: float, power: Callable[[float, int], np.float32]) -> Rule:
    b1, b2, eps = F(0.9), F(0.999), F(1e-7)

    def step(var: np.ndarray, g: np.ndarray, state: dict[str, Any], t: int) -> np.ndarray:
        m = state.get("m", np.zeros_like(var))
        v = state.get("v", np.zeros_like(var))
        b1p, b2p = power(0.9, t), power(0.999, t)
        alpha = F(lr) * np.sqrt(F(1) - b2p) / (F(1) - b1p)
        m = m + (g - m) * (F(1) - b1)
        v = v + (g * g - v) * (F(1) - b2)
        state["m"], state["v"] = m, v
        return np.asarray(var - (m * alpha) / (np.sqrt(v) + eps))

    return step


def _adagrad(lr: float) -> Rule:
    def step(var: np.ndarray, g: np.ndarray, state: dict[str, Any], t: int) -> np.ndarray:
        acc = state.get("acc", np.full_like(var, F(0.1))) + g * g
        state["acc"] = acc
        return np.asarray(var - F(lr) * g / (np.sqrt(acc) + F(1e-7)))

    return step


def _rmsprop(lr: float) -> Rule:
    rho = F(0.9)

    def step(var: np.ndarray, g: np.ndarray, state: dict[str, Any], t: int) -> np.ndarray:
        ms = rho * state.get("ms", np.zeros_like(var)) + (F(1) - rho) * np.square(g)
        state["ms"] = ms
        return np.asarray(var - F(lr) * g / (np.sqrt(ms) + F(1e-7)))

    return step


def _ulps(a: np.ndarray, b: np.ndarray) -> int:
    ia = a.astype(F).view(np.int32).astype(np.int64)
    ib = b.astype(F).view(np.int32).astype(np.int64)
    return int(np.max(np.abs(ia - ib)))


def _array(entry: dict[str, Any]) -> np.ndarray:
    out = decode(entry)
    assert out is not None
    return out


def _compare(config: dict[str, Any], rule: Rule) -> dict[str, Any]:
    """Replay ``rule`` on TensorFlow's gradients; the first step where it leaves TF's path."""
    for name in ("w", "b"):
        path = _array(config[name])
        grads = _array(config[f"grad_{name}_at_step"])
        state: dict[str, Any] = {}
        var = path[0]
        for k in range(1, len(path)):
            var = np.asarray(rule(var, grads[k - 1], state, k), F)
            if not np.array_equal(var, path[k]):
                return {"var": name, "step": k, "max_ulps": _ulps(var, path[k])}
            var = path[k]
    return {}


def numpy_crosscheck_of_legacy_updates(tf: Any, committed: dict[str, Any]) -> dict[str, Any]:
    """The section (``committed`` is not read: everything is recomputed)."""
    tf_keras = keras()

    del committed

    def tf_power(beta: float, t: int) -> np.float32:
        return np.float32(tf.pow(tf.constant(beta), tf.constant(float(t))).numpy())

    def np_power(beta: float, t: int) -> np.float32:
        return np.float32(np.power(F(beta), F(t)))

    checks: tuple[tuple[str, str, Rule, str], ...] = (
        ("SGD(0.1)", "SGD(0.1)", _sgd(0.1), "var = var - lr*g (float32)"),
        (
            "SGD(0.1,momentum=0.9)",
            "SGD(0.1,momentum=0.9)",
            _momentum(0.1, 0.9, False),
            "m = momentum*m - lr*g; var = var + m",
        ),
        (
            "SGD(0.1,momentum=0.9,nesterov=True)",
            "SGD(0.1,momentum=0.9,nesterov=True)",
            _momentum(0.1, 0.9, True),
            "m = momentum*m - lr*g; var = var + (momentum*m - lr*g)",
        ),
        (
            "Adam(0.01)",
            "Adam(0.01)",
            _adam(0.01, tf_power),
            "ResourceApplyAdam (beta powers from TF's scalar float32 pow, see pow_behaviour): "
            "alpha = lr*sqrt(1-b2^t)/(1-b1^t); m += (g-m)*(1-b1); v += (g*g-v)*(1-b2); "
            "var -= m*alpha/(sqrt(v)+eps)",
        ),
        (
            "Adam(0.01)_with_numpy_float32_power",
            "Adam(0.01)",
            _adam(0.01, np_power),
            "same as Adam(0.01) but beta powers from np.power(float32, float32): NOT bit-exact "
            "(numpy's float32 power is less accurate than TF's scalar pow)",
        ),
        (
            "Adagrad(0.1)",
            "Adagrad(0.1)",
            _adagrad(0.1),
            "acc += g*g; var -= lr*g/(sqrt(acc)+eps); acc init 0.1",
        ),
        (
            "RMSprop(0.01)",
            "RMSprop(0.01)",
            _rmsprop(0.01),
            "legacy RMSprop without momentum is NOT a fused kernel: ms = rho*ms + "
            "(1-rho)*square(g) (1-rho computed in float32 as 1 - float32(rho)); "
            "var -= lr*g/(sqrt(ms)+eps); ms init 0",
        ),
    )
    trajectories: dict[str, Any] = {}
    out: dict[str, Any] = {}
    for name, key, rule, text in checks:
        if key not in trajectories:
            trajectories[key] = _legacy_config(tf, tf_keras, key)
        mismatch = _compare(trajectories[key], rule)
        out[name] = {"bit_exact": not mismatch, "first_mismatch": mismatch or None, "rule": text}
    return out
