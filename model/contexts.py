"""Hashed context embeddings: a learned vector for each short context that ends at a position.

For position t of a window and each order k = 2..ORDERS, the k characters ending at t (fewer
at the window's start) are hashed into one of 2^BUCKET_BITS rows of E; the rows are summed
and projected into the gates of the LSTM (model/lstm_lm.py)::

    code_k(t) = sum_{j < k, t - j >= 1} (x_{t-j} + 1) * 28^j
    bucket_k(t) = (code_k(t) * M_k mod 2^64) >> (64 - BUCKET_BITS)      (multiplicative hashing)
    e_t = m_t * sum_k E[bucket_k(t)]                                      E (2^BUCKET_BITS, D)
    a_t += Q e_t                                                          Q (4H, D)

m_t is 0 with probability `context_dropout` in training (the whole e_t is dropped, so the
network also learns to predict from the characters alone), 1 in inference. Like fastText's
hashed n-gram features, these are parameters learned by backpropagation: no counts are kept.
Distinct contexts may share a row; training learns what helps on average.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

Array = NDArray[Any]
ORDERS = 10  # contexts of 2..10 characters ending at each position
BUCKET_BITS = 17  # 131,072 rows of E
DIMENSION = 24  # columns of E
_BASE = 28  # x + 1 lies in 1..27, so 0 marks "before the window"
_MULTIPLIERS = tuple(np.uint64(0x9E3779B97F4A7C15 + 2 * k) for k in range(ORDERS + 1))  # odd


def buckets(inputs: Array) -> Array:
    """bucket_k(t) for every position of index windows inputs (batch, T): shape (T, batch, ORDERS - 1)."""
    batch, T = inputs.shape
    result = np.empty((T, batch, ORDERS - 1), np.int64)
    code = np.zeros((T, batch), np.uint64)
    symbols = inputs.T.astype(np.uint64) + np.uint64(1)
    for k in range(1, ORDERS + 1):
        shifted = np.zeros_like(code)
        if k <= T:  # a window shorter than k has no x_{t-k+1} anywhere: all 0
            shifted[k - 1 :] = symbols[: T - k + 1]  # x_{t-k+1}, or 0 before the window
        code += shifted * np.uint64(_BASE ** (k - 1))
        if k >= 2:
            hashed = (code * _MULTIPLIERS[k]) >> np.uint64(64 - BUCKET_BITS)
            result[:, :, k - 2] = hashed.astype(np.int64)
    return result


def init_params(n_hidden: int, rng: np.random.Generator) -> dict[str, Array]:
    """E drawn N(0, 0.1^2), Q drawn N(0, 1/D)."""
    return {
        "E": rng.standard_normal((2**BUCKET_BITS, DIMENSION)) * 0.1,
        "Q": rng.standard_normal((4 * n_hidden, DIMENSION)) / np.sqrt(DIMENSION),
    }


def embeddings(E: Array, rows: Array, mask: Array | None = None) -> Array:
    """e_t for bucket rows (T, batch, ORDERS - 1): shape (T, batch, D)."""
    e: Array = E[rows].sum(axis=2)
    if mask is not None:
        e *= mask
    return e


def gradients(E: Array, Q: Array, rows: Array, e: Array, da: Array, mask: Array | None) -> dict[str, Array]:
    """dE and dQ from da = dL/da_t, shape (T, batch, 4H)."""
    da_flat = da.reshape(-1, da.shape[-1])
    de = da_flat @ Q  # (T * batch, D)
    if mask is not None:
        de *= mask.reshape(-1, 1)
    dE = np.zeros_like(E)
    flat_rows = rows.reshape(-1, rows.shape[-1])
    for k in range(flat_rows.shape[1]):
        np.add.at(dE, flat_rows[:, k], de)
    return {"E": dE, "Q": da_flat.T @ e.reshape(-1, e.shape[-1])}
