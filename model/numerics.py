"""The three squashing functions every model shares, each written once, each stable for any input.

softmax and log_softmax act along the last axis; every function keeps its input's dtype, so a
float32 model computes in float32::

    softmax(z)_k     = exp(z_k - m) / sum_j exp(z_j - m)           m = max_j z_j
    log_softmax(z)_k = (z_k - m) - log(sum_j exp(z_j - m))
    sigmoid(a)       = 1 / (1 + exp(-a)) = (1 + tanh(a / 2)) / 2

Subtracting m leaves the result unchanged and keeps every exponent <= 0, so nothing overflows.
The tanh form of the sigmoid cannot overflow either. Its error is absolute, at most an ulp of 1
(2.2e-16 in float64, 1.2e-7 in float32), so it returns 0 below a = -38 (float64) where
1 / (1 + exp(-a)) would return a tiny positive number, and small values keep few significant
digits (sigmoid(-4.5) is right to 16 digits, not 17). The gates it serves never need those
digits, and the committed LSTM was trained with this form: its answers depend on it bit for bit.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

Array = NDArray[Any]


def softmax(z: Array) -> Array:
    """y = softmax(z) along the last axis."""
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    result: Array = e / e.sum(axis=-1, keepdims=True)
    return result


def log_softmax(z: Array) -> Array:
    """log y = log softmax(z) along the last axis."""
    shifted: Array = z - z.max(axis=-1, keepdims=True)
    result: Array = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    return result


def sigmoid(a: Array, out: Array | None = None) -> Array:
    """1 / (1 + exp(-a)), elementwise, written with tanh so that it cannot overflow: the
    operations of 0.5 * tanh(0.5 * a) + 0.5, in one buffer (`out`, which may be `a`)."""
    if out is None:
        result: Array = 0.5 * np.tanh(0.5 * a) + 0.5
        return result
    np.multiply(a, 0.5, out=out)
    np.tanh(out, out=out)
    out *= 0.5
    out += 0.5
    return out
