"""The seed's character RNN with exact backpropagation through time.

Equations, with the seed's names (x_t one-hot, h_0 = 0)::

    a_t = U x_t + W h_{t-1} + b        U (H, X), W (H, H), b (H,)
    h_t = ReLU(a_t)
    z_t = V h_t + c                    V (Y, H), c (Y,)
    y_t = softmax(z_t)
    L   = mean over the batch of  sum_t -log y_t[target_t]

U x_t is the column of U at the input's index, so no one-hot vector is ever built.
Every function here is pure: activations live in the returned `Cache`, never on a shared
object, so a server may call them from many threads at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import DTypeLike, NDArray

Array = NDArray[Any]
Params = dict[str, Array]
PARAM_NAMES = ("U", "W", "V", "b", "c")


def init_params(n_in: int, n_hidden: int, n_out: int, seed: int = 0, dtype: DTypeLike = np.float64) -> Params:
    """U, W, V drawn N(0, 1) / sqrt(fan_in); biases b, c zero."""
    rng = np.random.default_rng(seed)
    params = {
        "U": rng.standard_normal((n_hidden, n_in)) / np.sqrt(n_in),
        "W": rng.standard_normal((n_hidden, n_hidden)) / np.sqrt(n_hidden),
        "V": rng.standard_normal((n_out, n_hidden)) / np.sqrt(n_hidden),
        "b": np.zeros(n_hidden),
        "c": np.zeros(n_out),
    }
    return {name: array.astype(dtype) for name, array in params.items()}


def check_params(params: Params) -> tuple[int, int, int]:
    """Validate the five arrays' shapes against each other; return (X, H, Y)."""
    missing = [name for name in PARAM_NAMES if name not in params]
    if missing:
        raise ValueError(f"params: missing arrays {missing}")
    n_hidden, n_in = params["U"].shape
    n_out = params["V"].shape[0]
    expected = {
        "U": (n_hidden, n_in),
        "W": (n_hidden, n_hidden),
        "V": (n_out, n_hidden),
        "b": (n_hidden,),
        "c": (n_out,),
    }
    for name, shape in expected.items():
        if params[name].shape != shape:
            raise ValueError(f"params: {name} has shape {params[name].shape}, expected {shape}")
    return n_in, n_hidden, n_out


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


def _as_index_batch(inputs: Array, n_in: int, name: str = "inputs") -> Array:
    array = np.asarray(inputs)
    if array.ndim != 2 or array.shape[0] < 1 or array.shape[1] < 1:
        raise ValueError(f"{name}: expected shape (batch, seq_len) with both >= 1, got {array.shape}")
    if not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"{name}: expected integers, got dtype {array.dtype}")
    if array.min() < 0 or array.max() >= n_in:
        raise ValueError(f"{name}: indices must lie in 0..{n_in - 1}")
    return array


def hidden_states(params: Params, inputs: Array) -> Array:
    """h_0..h_T for a batch of index sequences; shape (seq_len + 1, batch, H)."""
    U, W, b = params["U"], params["W"], params["b"]
    batch, seq_len = inputs.shape
    # Precomputed input projections: U x_t + b is a column of U plus b, for every step at once.
    input_terms = U.T[inputs.T] + b  # (seq_len, batch, H)
    h = np.zeros((seq_len + 1, batch, W.shape[0]), dtype=W.dtype)
    W_T = W.T
    for t in range(seq_len):
        a_t = np.matmul(h[t], W_T, out=h[t + 1])
        a_t += input_terms[t]
        np.maximum(a_t, 0, out=a_t)
    return h


def forward(params: Params, inputs: Array) -> Cache:
    """Forward pass over every position. inputs : int array, shape (batch, seq_len)."""
    inputs = _as_index_batch(inputs, params["U"].shape[1])
    h = hidden_states(params, inputs)
    z = h[1:] @ params["V"].T + params["c"]
    return Cache(inputs=inputs, h=h, z=z)


def log_softmax(z: Array) -> Array:
    """log y along the last axis, stable for any z."""
    shifted: Array = z - z.max(axis=-1, keepdims=True)
    result: Array = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    return result


def softmax(z: Array) -> Array:
    """y = softmax(z) along the last axis."""
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    result: Array = e / e.sum(axis=-1, keepdims=True)
    return result


def loss(cache: Cache, targets: Array) -> float:
    """Mean over the batch of each sequence's cross-entropy summed over its positions."""
    log_y = log_softmax(cache.z)  # (seq_len, batch, Y)
    seq_len, batch = targets.shape[1], targets.shape[0]
    picked = log_y[np.arange(seq_len)[:, None], np.arange(batch)[None, :], targets.T]
    return float(-picked.sum() / batch)


def backward(params: Params, cache: Cache, targets: Array) -> Params:
    """Exact gradients of `loss` with respect to U, W, V, b, c (BPTT over all positions)."""
    U, W, V = params["U"], params["W"], params["V"]
    h, inputs = cache.h, cache.inputs
    seq_len, batch, n_hidden = h.shape[0] - 1, h.shape[1], h.shape[2]
    # dL/dz_t = y_t - onehot(target_t), divided by the batch because the loss is a batch mean.
    dz = softmax(cache.z)
    dz[np.arange(seq_len)[:, None], np.arange(batch)[None, :], targets.T] -= 1
    dz /= batch
    dh_out = dz @ V  # (seq_len, batch, H): what each h_t receives from its own output
    da = np.empty_like(dh_out)
    dh_next = np.zeros((batch, n_hidden), dtype=h.dtype)
    for t in range(seq_len - 1, -1, -1):
        da_t = np.add(dh_out[t], dh_next, out=da[t])
        da_t *= h[t + 1] > 0
        dh_next = da_t @ W
    # One matrix product per weight gradient, over all steps and sequences at once.
    da_flat = da.reshape(-1, n_hidden)
    dU_T = np.zeros((U.shape[1], n_hidden), dtype=U.dtype)
    np.add.at(dU_T, inputs.T.reshape(-1), da_flat)
    return {
        "U": dU_T.T.copy(),
        "W": da_flat.T @ h[:-1].reshape(-1, n_hidden),
        "V": dz.reshape(-1, dz.shape[2]).T @ h[1:].reshape(-1, n_hidden),
        "b": da_flat.sum(axis=0),
        "c": dz.sum(axis=(0, 1)),
    }


def loss_and_grads(params: Params, inputs: Array, targets: Array) -> tuple[float, Params]:
    """(loss, grads) for integer arrays inputs, targets of shape (batch, seq_len)."""
    cache = forward(params, inputs)
    targets = _as_index_batch(targets, params["V"].shape[0], name="targets")
    if targets.shape != cache.inputs.shape:
        raise ValueError(f"targets: shape {targets.shape} differs from inputs {cache.inputs.shape}")
    return loss(cache, targets), backward(params, cache, targets)


def sgd_step(params: Params, grads: Params, learning_rate: float) -> None:
    """In-place p <- p - learning_rate * dp for every parameter."""
    for name in PARAM_NAMES:
        params[name] -= learning_rate * grads[name]


def next_char_probabilities(params: Params, windows: Array) -> Array:
    """y_T for a batch of windows in one vectorised pass.

    windows : int array, shape (batch, seq_len)  ->  probabilities, shape (batch, Y)
    """
    windows = _as_index_batch(windows, params["U"].shape[1], name="windows")
    h_last = hidden_states(params, windows)[-1]
    return softmax(h_last @ params["V"].T + params["c"])


def predict_next(params: Params, windows: Array) -> Array:
    """Index of the most probable next character for each window; shape (batch,)."""
    windows = _as_index_batch(windows, params["U"].shape[1], name="windows")
    h_last = hidden_states(params, windows)[-1]
    result: Array = np.argmax(h_last @ params["V"].T + params["c"], axis=-1)
    return result


def generate(
    params: Params,
    prompt: Array,
    n: int,
    seq_length: int,
    temperature: float = 0.0,
    seed: int | None = None,
) -> Array:
    """n next indices after `prompt`, each predicted from the last `seq_length` indices.

    temperature 0 is greedy (argmax); above 0 samples from softmax(z / temperature).
    """
    if n < 0:
        raise ValueError("n: must be >= 0")
    if temperature < 0:
        raise ValueError("temperature: must be >= 0")
    rng = np.random.default_rng(seed)
    sequence = [int(i) for i in np.asarray(prompt, dtype=np.int64).ravel()]
    if not sequence:
        raise ValueError("prompt: must hold at least one index")
    produced = np.empty(n, dtype=np.int64)
    for step in range(n):
        window = np.asarray(sequence[-seq_length:], dtype=np.int64)[None, :]
        z = hidden_states(params, window)[-1][0] @ params["V"].T + params["c"]
        if temperature == 0:
            index = int(np.argmax(z))
        else:
            index = int(rng.choice(z.shape[0], p=softmax(z / temperature)))
        produced[step] = index
        sequence.append(index)
    return produced
