"""TensorFlow's CPU arithmetic for float32 softmax, step by step, so results match its digits.

TensorFlow computes ``tf.nn.softmax`` on the CPU with Eigen (its oneDNN kernel is used only
when oneDNN is enabled, and its digits depend on the processor; we follow the portable Eigen
kernel, i.e. TensorFlow with ``TF_ENABLE_ONEDNN_OPTS=0``)::

    shifted = x - max(x, along the row)
    e       = exp(shifted)          # Eigen's packet exp on blocks of 8, libm's expf on the rest
    out     = e * (1 / sum(e))      # the row sum in Eigen's order, then one reciprocal

Each of the three choices moves the last bit, so each is reproduced here:

* **exp**: Eigen evaluates ``exp`` on packets of 8 floats (AVX) with a Cody–Waite range
  reduction and a degree-6 polynomial, without fused multiply-adds; elements after the last
  full packet of the (flattened) array use the C library's correctly rounded ``expf``.
  Results below the smallest normal float are flushed to zero, as TensorFlow's CPU threads do.
* **row sum**: 8 lanes accumulate packets of 8 (four accumulators when the row holds 32 or
  more), the lanes are folded as ``((l0+l4)+(l2+l6)) + ((l1+l5)+(l3+l7))``, then added to the
  sequential sum of the leftover elements.  Rows longer than 8192 are split in halves first.
* **reciprocal**: ``1/s`` once per row, then a multiply (not a division per element).

One part cannot be reproduced on every machine: for full groups of 8 *rows*, Eigen takes
the reciprocal with the processor's approximate ``rcpps`` instruction plus one Newton step.
We use the exact reciprocal there, which agrees with TensorFlow to within a unit in the last
place; the remaining ``rows % 8`` rows (all of them for a vector or a batch of fewer than 8)
take an exact ``1/s`` in TensorFlow too, and match bit for bit.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _eigen_f32 as E

__all__ = ["softmax_f32"]

_F = np.float32
_TINY = np.finfo(np.float32).tiny
_PACKET = E.PACKET  # (TensorFlow's packet of 8 float32 numbers)
_LEAF = 1024  # Eigen's tree-reduction leaf, in packets


def _exp(x: np.ndarray) -> np.ndarray:
    out = E.exp(x)  # Eigen's pexp_float, and libm's expf on the last n % 8 (TensorFlow's)
    out[(out < _TINY) & (out > 0)] = 0  # flush to zero
    return out


def _fold(acc: np.ndarray) -> np.ndarray:
    """Eigen's ``predux`` of 8 lanes: halves added, then pairs, then the two results."""
    b = acc[..., :4] + acc[..., 4:]
    return (b[..., 0] + b[..., 2]) + (b[..., 1] + b[..., 3])


def _packet_sum(e: np.ndarray) -> np.ndarray:
    """Sum of the last axis in the order of Eigen's vectorised inner-most reducer."""
    c = e.shape[-1]
    lead = e.shape[:-1]
    n4 = (c // (4 * _PACKET)) * 4 * _PACKET
    nv = (c // _PACKET) * _PACKET
    acc = np.zeros((*lead, _PACKET), _F)
    if n4:
        # numpy reduces a non-contiguous axis one slice after another, as the packets are added
        blocks = e[..., :n4].reshape(*lead, n4 // (4 * _PACKET), 4, _PACKET).sum(axis=-3)
        acc = ((blocks[..., 0, :] + blocks[..., 1, :]) + blocks[..., 2, :]) + blocks[..., 3, :]
    for j in range(n4, nv, _PACKET):
        acc = acc + e[..., j : j + _PACKET]
    rest = np.zeros(lead, _F)
    for j in range(nv, c):
        rest = rest + e[..., j]
    return rest + _fold(acc)


def _tree_sum(row: np.ndarray, first: int) -> Any:
    """One long row (flat index ``first``): halves split on a packet boundary, as Eigen."""
    n = row.shape[0]
    if n <= _PACKET * _LEAF:
        return _packet_sum(row)
    split = _PACKET * -(-(first + -(-n // 2)) // _PACKET)
    left = min(split - first, n)
    total = _F(0) + _tree_sum(row[:left], first)
    if left < n:
        total = total + _tree_sum(row[left:], split)
    return total


def _row_sums(e: np.ndarray) -> np.ndarray:
    c = e.shape[-1]
    if c <= _PACKET * _LEAF:
        return _packet_sum(e)
    rows = e.reshape(-1, c)
    sums = np.array([_tree_sum(rows[i], i * c) for i in range(rows.shape[0])], _F)
    return sums.reshape(e.shape[:-1])


def softmax_f32(x: np.ndarray) -> np.ndarray:
    """``tf.nn.softmax`` of a float32 array along its last axis, TensorFlow's digits."""
    with np.errstate(all="ignore"):  # NaN and infinities pass through silently, as in TF
        shifted = x - np.max(x, axis=-1, keepdims=True)
        e = _exp(shifted)
        inv = _F(1.0) / _row_sums(e)
    out = e * inv[..., None]
    out[(out < _TINY) & (out > 0)] = 0  # flush to zero
    return out
