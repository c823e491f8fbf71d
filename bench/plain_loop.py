"""The baseline: one training step written the way the seed's notebook writes it.

One sequence at a time, one step at a time, one-hot x_t, an `np.outer` per step and per
weight gradient, float64, then clip-and-update. Nothing here is used by the project itself;
it exists so that the benchmark compares the vectorised BPTT in model/rnn.py with the code
it replaced.
"""

from __future__ import annotations

import numpy as np

from model.rnn import Array, Params


def plain_loss_and_grads(params: Params, inputs: Array, targets: Array) -> tuple[float, Params]:
    """One sequence: inputs, targets of shape (seq_len,); the seed's forward and backward."""
    U, W, V, b, c = params["U"], params["W"], params["V"], params["b"], params["c"]
    xs, hs, ys = {}, {-1: np.zeros(W.shape[0])}, {}
    loss = 0.0
    for t in range(len(inputs)):
        xs[t] = np.zeros(U.shape[1])
        xs[t][inputs[t]] = 1.0
        hs[t] = np.maximum(0, U @ xs[t] + W @ hs[t - 1] + b)
        z = V @ hs[t] + c
        ys[t] = np.exp(z - z.max()) / np.sum(np.exp(z - z.max()))
        loss += -np.log(ys[t][targets[t]])
    dU, dW, dV = np.zeros_like(U), np.zeros_like(W), np.zeros_like(V)
    db, dc = np.zeros_like(b), np.zeros_like(c)
    dh_next = np.zeros_like(b)
    for t in reversed(range(len(inputs))):
        dz = ys[t].copy()
        dz[targets[t]] -= 1
        dV += np.outer(dz, hs[t])
        dc += dz
        da = (V.T @ dz + dh_next) * (hs[t] > 0)
        db += da
        dU += np.outer(da, xs[t])
        dW += np.outer(da, hs[t - 1])
        dh_next = W.T @ da
    return float(loss), {"U": dU, "W": dW, "V": dV, "b": db, "c": dc}


def plain_training_step(
    params: Params, inputs: Array, targets: Array, learning_rate: float, clip: float
) -> float:
    """The seed's per-sample SGD over a batch: one update per sequence, as its notebook loops."""
    total = 0.0
    for sequence, target_sequence in zip(inputs, targets, strict=True):
        loss, grads = plain_loss_and_grads(params, sequence, target_sequence)
        for name, grad in grads.items():
            params[name] -= learning_rate * np.clip(grad, -clip, clip)
        total += loss
    return total
