"""python -m tests.utils.invariance rnn|lstm float32|float64 N: batch invariance on N windows.

Scores N random windows one at a time, then the same windows shuffled and cut into batches of
random sizes, all through model.batching; prints one JSON line with how many rows differ
bit for bit (np.array_equal), the block used and the number of batches.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import numpy as np
from numpy.typing import NDArray

from model.batching import RowFunction, invariant_block, invariant_rows
from model.rnn import init_params, next_char_probabilities

Array = NDArray[Any]


def lstm_params(n_in: int, n_hidden: int, dtype: Any) -> dict[str, Array]:
    rng = np.random.default_rng(3)
    return {
        "W": (rng.standard_normal((4 * n_hidden, n_hidden + n_in)) / np.sqrt(n_hidden)).astype(dtype),
        "b": np.zeros(4 * n_hidden, dtype),
        "V": (rng.standard_normal((n_in, n_hidden)) / np.sqrt(n_hidden)).astype(dtype),
        "c": np.zeros(n_in, dtype),
    }


def lstm_logits(params: dict[str, Array], windows: Array) -> Array:
    """An LSTM over one-hot windows: the four gates from one product with [h; x], z = V h_T + c."""
    W, V = params["W"], params["V"]
    n_hidden = V.shape[1]
    eye = np.eye(V.shape[0], dtype=W.dtype)
    h = np.zeros((windows.shape[0], n_hidden), W.dtype)  # (B, H)
    c = np.zeros_like(h)
    for t in range(windows.shape[1]):
        a = np.concatenate([h, eye[windows[:, t]]], axis=1) @ W.T + params["b"]  # (B, 4H)
        f, i, o = (1 / (1 + np.exp(-a[:, k * n_hidden : (k + 1) * n_hidden])) for k in range(3))
        c = f * c + i * np.tanh(a[:, 3 * n_hidden :])
        h = o * np.tanh(c)
    result: Array = h @ V.T + params["c"]
    return result


def model(name: str, dtype: Any) -> tuple[RowFunction, dict[str, Array]]:
    if name == "rnn":
        return next_char_probabilities, init_params(27, 400, 27, seed=0, dtype=dtype)
    return lstm_logits, lstm_params(27, 256, dtype)


def check(name: str, dtype: Any, count: int) -> dict[str, int]:
    fn, params = model(name, dtype)
    rng = np.random.default_rng(7)
    block = invariant_block(fn, params, rng.integers(0, 27, (4, 10)))
    windows = rng.integers(0, 27, (count, 10))
    alone = np.concatenate([invariant_rows(fn, params, windows[i : i + 1], block) for i in range(count)])
    order, start, batches, differing = rng.permutation(count), 0, 0, 0
    while start < count:
        chosen = order[start : start + int(rng.integers(1, 300))]
        together = invariant_rows(fn, params, windows[chosen], block)
        differing += int((together != alone[chosen]).any(axis=1).sum())
        start, batches = start + len(chosen), batches + 1
    return {"windows": count, "rows_differing": differing, "block": block, "batches": batches}


if __name__ == "__main__":
    print(json.dumps(check(sys.argv[1], np.dtype(sys.argv[2]), int(sys.argv[3]))))
