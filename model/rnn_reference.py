"""The assignment's character RNN as its equations: forward, loss and BPTT in plain NumPy.

This is the readable reference; model/rnn.py computes the same numbers faster, and
tests/model/test_rnn_reference.py proves that the two agree. Vectorised over the batch,
one time step at a time. x_t is the index of a character, h_0 = 0, B the batch size::

    a_t = U x_t + W h_{t-1} + b        U (H, X), W (H, H), b (H,)
    h_t = ReLU(a_t)
    z_t = V h_t + c                    V (Y, H), c (Y,)
    y_t = softmax(z_t)
    L   = 1/B  sum over sequences  sum_t  -log y_t[target_t]

Backward through time, from the last step to the first (da_{T+1} = 0)::

    dz_t = (y_t - onehot(target_t)) / B
    dh_t = V^T dz_t + W^T da_{t+1}
    da_t = dh_t * [a_t > 0]
    dV = sum_t dz_t h_t^T     dc = sum_t dz_t
    dW = sum_t da_t h_{t-1}^T  db = sum_t da_t     dU = sum_t da_t x_t^T

U x_t is column x_t of U, so no one-hot vector is built: U x_t is `U[:, x_t]`, and
dU adds da_t to the column of x_t.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from model.numerics import log_softmax, softmax
from model.rnn import Array, Params, check_batch, check_indices


@dataclass(frozen=True)
class Cache:
    """Activations of one forward pass.

    inputs : int array, shape (batch, seq_len)
    h      : float array, shape (seq_len + 1, batch, H); h[0] = h_0 = 0, h[t] = h_t
    z      : float array, shape (seq_len, batch, Y), the logits
    """

    inputs: Array
    h: Array
    z: Array


def forward(params: Params, inputs: Array) -> Cache:
    """h_0..h_T and z_1..z_T for index sequences. inputs : int array, shape (batch, seq_len)."""
    U, W, V, b, c = params["U"], params["W"], params["V"], params["b"], params["c"]
    inputs = check_indices(inputs, U.shape[1])
    batch, seq_len = inputs.shape
    h = np.zeros((seq_len + 1, batch, W.shape[0]), dtype=W.dtype)  # (T + 1, B, H)
    z = np.zeros((seq_len, batch, V.shape[0]), dtype=W.dtype)  # (T, B, Y)
    for t in range(1, seq_len + 1):
        a = U[:, inputs[:, t - 1]].T + h[t - 1] @ W.T + b  # (B, H)
        h[t] = np.maximum(a, 0)
        z[t - 1] = h[t] @ V.T + c
    return Cache(inputs=inputs, h=h, z=z)


def loss(cache: Cache, targets: Array) -> float:
    """L: mean over the batch of each sequence's cross-entropy summed over its steps."""
    seq_len, batch = cache.z.shape[:2]
    log_y = log_softmax(cache.z)  # (T, B, Y)
    picked = log_y[np.arange(seq_len)[:, None], np.arange(batch)[None, :], targets.T]
    return float(-picked.sum() / batch)


def backward(params: Params, cache: Cache, targets: Array) -> Params:
    """dL/dU, dL/dW, dL/dV, dL/db, dL/dc by backpropagation through time."""
    W, V = params["W"], params["V"]
    seq_len, batch = cache.z.shape[:2]
    grads = {name: np.zeros_like(value) for name, value in params.items()}
    da_next = np.zeros((batch, W.shape[0]), dtype=W.dtype)  # da_{T+1} = 0
    for t in range(seq_len, 0, -1):
        h, h_prev, x = cache.h[t], cache.h[t - 1], cache.inputs[:, t - 1]
        dz = softmax(cache.z[t - 1])  # (B, Y)
        dz[np.arange(batch), targets[:, t - 1]] -= 1
        dz /= batch
        dh = dz @ V + da_next @ W  # (B, H): V^T dz_t + W^T da_{t+1}, one row per sequence
        da = dh * (h > 0)
        grads["V"] += dz.T @ h
        grads["c"] += dz.sum(axis=0)
        grads["W"] += da.T @ h_prev
        grads["b"] += da.sum(axis=0)
        np.add.at(grads["U"].T, x, da)  # column x_t of dU gets da_t
        da_next = da
    return grads


def loss_and_grads(params: Params, inputs: Array, targets: Array) -> tuple[float, Params]:
    """(L, grads) for integer arrays inputs, targets of shape (batch, seq_len)."""
    inputs, targets = check_batch(params, inputs, targets)
    cache = forward(params, inputs)
    return loss(cache, targets), backward(params, cache, targets)
