"""Hashed context embeddings: a learned vector for each short context that ends at a position.

For position t of a window and each order k = 2..ORDERS, the k characters ending at t (fewer
at the window's start) are hashed into one of 2^BUCKET_BITS rows of E; the rows are summed,
projected into the gates of the LSTM (model/lstm_lm.py) and, directly, into its logits::

    code_k(t) = sum_{j < k, t - j >= 1} (x_{t-j} + 1) * 28^j
    bucket_k(t) = (code_k(t) * M_k mod 2^64) >> (64 - BUCKET_BITS)      (multiplicative hashing)
    e_t = sum_k m_t * o_tk * E[bucket_k(t)]                               E (2^BUCKET_BITS, D)
    a_t += Q e_t                                                          Q (4H, D)
    z_t += R e_t                                                          R (Y, D), starts at 0

m_t is 0 with probability `context_dropout` in training (the whole e_t is dropped, from the
gates and the logits alike, so the network also learns to predict from the characters alone),
and o_tk is 0 with probability `order_dropout` (one order's row is dropped, so no prediction
leans on a single long context that held-out text may not share, nor on a row that another
context collides into); kept entries are scaled by the inverse keep rate, and both are 1 in
inference. Like fastText's hashed n-gram features, these are parameters learned by
backpropagation: no counts are kept. Distinct contexts may share a row; training learns what
helps on average. R e_t is the direct connection of Mikolov's RNNME: a context can raise the
score of the character that follows it without passing through the recurrent state. R starts
at zero, so a fresh model's logits are those of the LSTM alone.

e_t reaches the loss through both Q and R, so dL/de_t = Q^T dL/da_t + R^T dL/dz_t, and each
row of E gathers that from every position that looked it up.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

Array = NDArray[Any]
PARAM_NAMES = ("E", "Q", "R")
ORDERS = 10  # contexts of 2..10 characters ending at each position
BUCKET_BITS = 18  # 262,144 rows of E: with D = 16, 16.8 MB in float32
DIMENSION = 16  # columns of E, D
_BASE = 28  # x + 1 lies in 1..27, so 0 marks "before the text"
HISTORY = ORDERS - 1  # characters before a chunk that its first contexts reach back to
_MULTIPLIERS = tuple(np.uint64(0x9E3779B97F4A7C15 + 2 * k) for k in range(ORDERS + 1))  # odd


def buckets(inputs: Array, history: Array | None = None) -> Array:
    """bucket_k(t) for every position of index sequences inputs (batch, T): shape (T, batch, ORDERS - 1).

    history : (batch, HISTORY) indices of the characters just before `inputs`, -1 where there
    is none (before the text's start), so that a text read in chunks hashes the contexts that
    cross a chunk's start exactly as one read of the whole text does. None: nothing before
    `inputs` (a window read alone).
    """
    batch, T = inputs.shape
    if history is None:
        history = np.full((batch, HISTORY), -1, np.int64)
    width = history.shape[1]  # >= ORDERS - 1
    full = np.concatenate([history[:, width - (ORDERS - 1) :], inputs], axis=1)  # (batch, ORDERS - 1 + T)
    symbols = (full + 1).astype(np.uint64)  # 0 marks "no character": before the text
    # windows[b, t, j] = x_{t-j} + 1 for j < ORDERS: the characters ending at each position,
    # newest first, so that code_k is the running sum of the first k of them times 28^j.
    windows = np.lib.stride_tricks.sliding_window_view(symbols, ORDERS, axis=1)[:, :, ::-1]
    powers, multipliers = _constants(ORDERS)
    codes = np.cumsum(windows * powers, axis=2, dtype=np.uint64)  # (batch, T, ORDERS): code_1..code_ORDERS
    hashed = (codes[:, :, 1:] * multipliers) >> np.uint64(64 - BUCKET_BITS)
    return np.ascontiguousarray(hashed.transpose(1, 0, 2)).astype(np.int64)  # (T, batch, ORDERS - 1)


_POWERS = tuple(_BASE**j for j in range(ORDERS))
_HASH_MULTIPLIERS = tuple(int(m) for m in _MULTIPLIERS)
_WORD = (1 << 64) - 1  # uint64 arithmetic wraps modulo 2^64


def step_buckets(history: Sequence[int], index: int) -> list[int]:
    """bucket_k for k = 2..ORDERS at the one position of `index`, read after `history` (at
    least ORDERS - 1 indices, oldest first, -1 where none): `buckets(np.array([[index]]),
    np.array([history]))[0, 0]`, on Python integers. Generation feeds one character at a time,
    and for one position the vectorised version's dozen NumPy calls cost ten times this loop
    (tests/model/test_contexts.py checks that the two agree)."""
    code, rows = index + 1, []
    for j in range(1, ORDERS):
        code += (history[-j] + 1) * _POWERS[j]
        rows.append(((code * _HASH_MULTIPLIERS[j + 1]) & _WORD) >> (64 - BUCKET_BITS))
    return rows


@functools.cache
def _constants(orders: int) -> tuple[Array, Array]:
    """28^j for j < orders, and M_k for k = 2..orders, as uint64 arrays."""
    powers = np.array([_BASE**j for j in range(orders)], np.uint64)
    return powers, np.array(_MULTIPLIERS[2 : orders + 1], np.uint64)


def reference_buckets(inputs: Array, history: Array | None = None) -> Array:
    """`buckets` order by order, as the formula in the module's docstring reads: the readable
    reference of the vectorised version above (tests/model/test_lstm_lm.py checks they agree)."""
    batch, T = inputs.shape
    if history is None:
        history = np.full((batch, HISTORY), -1, np.int64)
    width = history.shape[1]  # >= ORDERS - 1
    full = np.concatenate([history, inputs], axis=1)  # (batch, width + T)
    symbols = full.T.astype(np.int64) + 1  # 0 marks "no character": before the text
    result = np.empty((T, batch, ORDERS - 1), np.int64)
    code = np.zeros((T, batch), np.uint64)
    for k in range(1, ORDERS + 1):
        # x_{t-k+1} for the T positions of `inputs`, taken from the history where it reaches back
        shifted = symbols[width - k + 1 : width - k + 1 + T].astype(np.uint64)
        code += shifted * np.uint64(_BASE ** (k - 1))
        if k >= 2:
            hashed = (code * _MULTIPLIERS[k]) >> np.uint64(64 - BUCKET_BITS)
            result[:, :, k - 2] = hashed.astype(np.int64)
    return result


def next_history(history: Array | None, inputs: Array) -> Array:
    """The HISTORY characters before the position after `inputs` (batch, T), -1 where none."""
    batch = inputs.shape[0]
    if history is None:
        history = np.full((batch, HISTORY), -1, np.int64)
    full = np.concatenate([history, inputs.astype(np.int64)], axis=1)
    return np.ascontiguousarray(full[:, full.shape[1] - HISTORY :])


def param_shapes(n_hidden: int, n_out: int) -> dict[str, tuple[int, ...]]:
    """The shapes of E, Q and R, read from BUCKET_BITS and DIMENSION when called."""
    return {
        "E": (2**BUCKET_BITS, DIMENSION),
        "Q": (4 * n_hidden, DIMENSION),
        "R": (n_out, DIMENSION),
    }


def init_params(n_hidden: int, n_out: int, rng: np.random.Generator) -> dict[str, Array]:
    """E drawn N(0, 0.1^2), Q drawn N(0, 1/D), R zero (the direct path starts closed)."""
    shapes = param_shapes(n_hidden, n_out)
    return {
        "E": rng.standard_normal(shapes["E"]) * 0.1,
        "Q": rng.standard_normal(shapes["Q"]) / np.sqrt(DIMENSION),
        "R": np.zeros(shapes["R"]),
    }


def embeddings(E: Array, rows: Array, mask: Array | None = None) -> Array:
    """e_t for bucket rows (T, batch, ORDERS - 1): shape (T, batch, D). `mask` multiplies each
    looked-up row: shape (T, batch, 1) for a whole position, or (T, batch, ORDERS - 1) per order."""
    looked_up = E[rows]  # (T, batch, ORDERS - 1, D)
    if mask is not None:
        looked_up *= mask[..., None]
    e: Array = looked_up.sum(axis=2)
    return e


def direct(R: Array, e: Array) -> Array:
    """R e_t for e of shape (..., D), as one 2-D matrix product: shape (..., Y)."""
    flat = e.reshape(-1, e.shape[-1])
    result: Array = (flat @ R.T).reshape(*e.shape[:-1], R.shape[0])
    return result


def gradients(
    params: dict[str, Array],
    rows: Array,
    e: Array,
    da: Array,
    dz: Array,
    mask: Array | None,
    dense_table: bool = True,
) -> dict[str, Array]:
    """dE, dQ and dR from da = dL/da_t (T, batch, 4H) and dz = dL/dz_t (T, batch, Y); without
    dense_table, dL/de_t (T * batch, D) under "de" instead of the whole table's dE.

    e : the masked e_t of the forward pass (T, batch, D); mask : the mask that multiplied each
    looked-up row, (T, batch, 1) or (T, batch, ORDERS - 1), or None.
    """
    da_flat = da.reshape(-1, da.shape[-1])
    dz_flat = dz.reshape(-1, dz.shape[-1])
    e_flat = e.reshape(-1, e.shape[-1])
    de = da_flat @ params["Q"] + dz_flat @ params["R"]  # (T * batch, D): e_t feeds a_t and z_t
    grads = {"Q": da_flat.T @ e_flat, "R": dz_flat.T @ e_flat}
    if dense_table:
        grads["E"] = table_gradient(params["E"], rows, de, mask)
    else:  # dE is de_t at each row that position t looked up: model/dynamic.py adds it in place
        grads["de"] = de
    return grads


def table_gradient(E: Array, rows: Array, de: Array, mask: Array | None = None) -> Array:
    """dE: each position's de_t (T * batch, D) added to every row it looked up, times the mask
    that multiplied that row in the forward pass."""
    dE = np.zeros_like(E)
    flat_rows = rows.reshape(-1, rows.shape[-1])
    flat_mask = None if mask is None else mask.reshape(-1, mask.shape[-1])
    for k in range(flat_rows.shape[1]):
        if flat_mask is None:
            np.add.at(dE, flat_rows[:, k], de)
        else:
            np.add.at(dE, flat_rows[:, k], de * flat_mask[:, min(k, flat_mask.shape[1] - 1), None])
    return dE
