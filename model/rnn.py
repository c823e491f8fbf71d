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
TRANSPOSE_COPY_BATCH = 16  # measured: from 16 rows on, h @ W.T is faster on a contiguous copy
ROW_BY_ROW_STEPS = 64  # measured: up to here a Python loop beats sorting for the gradient of U


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


def check_batch(params: Params, inputs: Array, targets: Array) -> tuple[Array, Array]:
    """Validate a training batch once: index arrays of one shape (batch, seq_len), in range.

    A trainer calls this on all its windows before the loop, then `loss_and_scaled_grads`
    on slices of them, which checks nothing.
    """
    inputs = _as_index_batch(inputs, params["U"].shape[1])
    targets = _as_index_batch(targets, params["V"].shape[0], name="targets")
    if targets.shape != inputs.shape:
        raise ValueError(f"targets: shape {targets.shape} differs from inputs {inputs.shape}")
    return inputs, targets


class Workspace:
    """Scratch arrays that a caller lends to the training step, reused from one step to the next.

    A 256-window batch needs several 4 MB temporaries per step; allocated anew each time,
    their pages are faulted in anew each time too. A Workspace belongs to one caller (one
    thread) and the arrays a step returns live in it until that caller's next step.
    """

    def __init__(self) -> None:
        self._arrays: dict[tuple[str, tuple[int, ...], np.dtype[Any]], Array] = {}

    def get(self, name: str, shape: tuple[int, ...], dtype: DTypeLike) -> Array:
        """The array called `name` of this shape and dtype, uninitialised on first use."""
        key = (name, shape, np.dtype(dtype))
        array = self._arrays.get(key)
        if array is None:
            array = self._arrays[key] = np.empty(shape, dtype)
        return array


def _empty(workspace: Workspace | None, name: str, shape: tuple[int, ...], dtype: DTypeLike) -> Array:
    return np.empty(shape, dtype) if workspace is None else workspace.get(name, shape, dtype)


def _input_terms(params: Params) -> Array:
    """U x + b for every possible x: row i is column i of U plus b, shape (X, H)."""
    result: Array = params["U"].T + params["b"]
    return result


def _transposed(W: Array, batch: int) -> Array:
    """W.T for h @ W.T: a contiguous copy once the batch makes OpenBLAS's products with the
    transposed view slower than the copy (about 0.1 ms) costs; the view for small batches."""
    return np.ascontiguousarray(W.T) if batch >= TRANSPOSE_COPY_BATCH else W.T


def _first_products(terms: Array, W_T: Array) -> Array:
    """W h_1 for each of the X possible x_1, shape (X, H): h_1 = ReLU(U x_1 + b) depends on x_1
    alone, so a batch larger than X gets its first recurrent product from this smaller one."""
    result: Array = np.maximum(terms, 0) @ W_T
    return result


def _hidden_states(params: Params, inputs: Array, workspace: Workspace | None = None) -> Array:
    """hidden_states for indices already known to lie in range."""
    W = params["W"]
    batch, seq_len = inputs.shape
    dtype = np.result_type(params["U"], W, params["b"])
    h = _empty(workspace, "h", (seq_len + 1, batch, W.shape[0]), dtype)
    h[0] = 0
    # Precomputed input projections: U x_t + b is a row of _input_terms, gathered for every
    # step at once straight into h_1..h_T; the recurrence then adds W h_{t-1} in place.
    terms = _input_terms(params)
    np.take(terms, inputs.T, axis=0, out=h[1:], mode="clip")
    np.maximum(h[1], 0, out=h[1])  # h_0 = 0, so a_1 = U x_1 + b needs no product
    product = _empty(workspace, "product", h[0].shape, dtype)
    W_T = _transposed(W, batch)
    first = 1
    if seq_len > 1 and batch > terms.shape[0]:
        h[2] += _first_products(terms, W_T)[inputs[:, 0]]
        np.maximum(h[2], 0, out=h[2])
        first = 2
    for t in range(first, seq_len):
        np.matmul(h[t], W_T, out=product)
        h[t + 1] += product
        np.maximum(h[t + 1], 0, out=h[t + 1])
    return h


def hidden_states(params: Params, inputs: Array) -> Array:
    """h_0..h_T for a batch of index sequences; shape (seq_len + 1, batch, H).

    inputs : int array, shape (batch, seq_len)
    """
    return _hidden_states(params, _as_index_batch(inputs, params["U"].shape[1]))


def _last_hidden_state(params: Params, windows: Array) -> Array:
    """h_T alone, shape (batch, H), in (batch, H) buffers whatever seq_len is."""
    batch, seq_len = windows.shape
    terms, W_T = _input_terms(params), _transposed(params["W"], batch)
    first = 1
    if seq_len > 1 and batch > terms.shape[0]:
        h = _first_products(terms, W_T)[windows[:, 0]]
        h += terms[windows[:, 1]]
        first = 2
    else:
        h = terms[windows[:, 0]]  # indexing, not np.take: a few microseconds less per step
    np.maximum(h, 0, out=h)
    product = np.empty_like(h)
    for t in range(first, seq_len):
        np.matmul(h, W_T, out=product)
        np.add(product, terms[windows[:, t]], out=h)
        np.maximum(h, 0, out=h)
    return h


def _logits(params: Params, h: Array) -> Array:
    """z = V h + c for h of shape (..., H); the product is one 2-D matrix product."""
    flat = h.reshape(-1, h.shape[-1])
    z: Array = flat @ params["V"].T
    z += params["c"]
    return z.reshape(*h.shape[:-1], z.shape[-1])


def forward(params: Params, inputs: Array) -> Cache:
    """Forward pass over every position. inputs : int array, shape (batch, seq_len)."""
    inputs = _as_index_batch(inputs, params["U"].shape[1])
    h = _hidden_states(params, inputs)
    return Cache(inputs=inputs, h=h, z=_logits(params, h[1:]))


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


def _gradients(
    params: Params, h: Array, inputs: Array, dz: Array, workspace: Workspace | None = None
) -> Params:
    """BPTT from dz = dL/dz, shape (seq_len, batch, Y), to the five parameter gradients.

    Each gradient comes out with dz's scale, so a caller that scales dz by the learning rate
    gets the SGD steps themselves.
    """
    W, V = params["W"], params["V"]
    seq_len, batch, n_hidden = h.shape[0] - 1, h.shape[1], h.shape[2]
    n_in, dtype = params["U"].shape[1], dz.dtype
    h_out = h[1:].reshape(-1, n_hidden)  # h_1..h_T: one row per (t, sequence)
    dz_flat = dz.reshape(-1, dz.shape[-1])
    # da starts as what each h_t receives from its own output; the loop adds the recurrence.
    da = _empty(workspace, "da", (seq_len, batch, n_hidden), dtype)
    np.matmul(dz_flat, V, out=da.reshape(-1, n_hidden))
    relu_slope = np.greater(h[1:], 0, out=_empty(workspace, "relu_slope", da.shape, dtype))
    da[-1] *= relu_slope[-1]
    dh_prev = _empty(workspace, "dh_prev", (batch, n_hidden), dtype)
    for t in range(seq_len - 1, 0, -1):  # dh_0 is never needed: h_0 is no parameter
        np.matmul(da[t], W, out=dh_prev)
        da[t - 1] += dh_prev
        da[t - 1] *= relu_slope[t - 1]
    da_flat = da.reshape(-1, n_hidden)
    grads = {name: _empty(workspace, "d" + name, params[name].shape, dtype) for name in PARAM_NAMES}
    grads["U"][...] = _input_gradient_T(inputs.T.reshape(-1), da_flat, n_in).T
    # One matrix product per weight gradient, over all steps and sequences at once.
    np.matmul(da_flat[batch:].T, h_out[:-batch], out=grads["W"])  # the t = 1 term has h_0 = 0
    np.matmul(dz_flat.T, h_out, out=grads["V"])
    np.sum(grads["U"], axis=1, out=grads["b"])  # each x_t is one-hot: dU's row sums are db
    np.sum(dz_flat, axis=0, out=grads["c"])
    return grads


def _input_gradient_T(x: Array, da_flat: Array, n_in: int) -> Array:
    """dU transposed, shape (X, H): row i is the sum of da_t over the steps whose input x_t is i.

    U x_t is column x_t of U, so its gradient is da_t added to that column; no one-hot
    vector is built. A few steps are added row by row; many are sorted by input and each
    run of equal inputs summed by one reduceat (np.add.at is several times slower).
    """
    dU_T = np.zeros((n_in, da_flat.shape[1]), dtype=da_flat.dtype)
    if x.size <= ROW_BY_ROW_STEPS:
        for row, index in zip(da_flat, x.tolist(), strict=True):
            dU_T[index] += row
        return dU_T
    order = np.argsort(x, kind="stable")
    sorted_x = x[order]
    starts = np.flatnonzero(np.concatenate(([True], sorted_x[1:] != sorted_x[:-1])))
    dU_T[sorted_x[starts]] = np.add.reduceat(da_flat[order], starts, axis=0)
    return dU_T


def backward(params: Params, cache: Cache, targets: Array) -> Params:
    """Exact gradients of `loss` with respect to U, W, V, b, c (BPTT over all positions)."""
    seq_len, batch = cache.z.shape[0], cache.z.shape[1]
    # dL/dz_t = y_t - onehot(target_t), divided by the batch because the loss is a batch mean.
    dz = softmax(cache.z)
    dz[np.arange(seq_len)[:, None], np.arange(batch)[None, :], targets.T] -= 1
    dz /= batch
    return _gradients(params, cache.h, cache.inputs, dz)


def _loss_and_output_gradient(z: Array, targets: Array, scale: float) -> tuple[float, Array]:
    """(loss, scale * dL/dz) from the logits z, shape (seq_len, batch, Y); z is overwritten."""
    batch = z.shape[1]
    flat = z.reshape(-1, z.shape[-1])
    rows, picked = np.arange(flat.shape[0]), targets.T.reshape(-1)
    flat -= flat.max(axis=1, keepdims=True)
    loss = float(-flat[rows, picked].sum())
    dz = np.exp(flat, out=flat)
    sums = dz.sum(axis=1)
    loss += float(np.log(sums).sum())
    # dz = scale / batch * (y - onehot(target)): the softmax and its scale in one pass.
    dz *= (scale / batch / sums)[:, None]
    dz[rows, picked] -= scale / batch
    return loss / batch, dz.reshape(z.shape)


def loss_and_scaled_grads(
    params: Params,
    inputs: Array,
    targets: Array,
    scale: float = 1.0,
    workspace: Workspace | None = None,
) -> tuple[float, Params]:
    """(loss, scale * grads) for a batch that `check_batch` has accepted; checks nothing.

    The trainer's hot path: it passes the learning rate as `scale`, so that the returned
    arrays are the SGD steps, scaled for free on dz (seq_len * batch * Y numbers) rather
    than on the gradients (H * H numbers and more). With a `workspace`, the returned arrays
    are its buffers: valid until the next call with the same workspace.
    """
    h = _hidden_states(params, inputs, workspace)
    loss, dz = _loss_and_output_gradient(_logits(params, h[1:]), targets, scale)
    return loss, _gradients(params, h, inputs, dz, workspace)


def loss_and_grads(params: Params, inputs: Array, targets: Array) -> tuple[float, Params]:
    """(loss, grads) for integer arrays inputs, targets of shape (batch, seq_len)."""
    inputs, targets = check_batch(params, inputs, targets)
    return loss_and_scaled_grads(params, inputs, targets)


def sgd_step(params: Params, grads: Params, learning_rate: float) -> None:
    """In-place p <- p - learning_rate * dp for every parameter."""
    for name in PARAM_NAMES:
        params[name] -= learning_rate * grads[name]


def next_char_probabilities(params: Params, windows: Array) -> Array:
    """y_T for a batch of windows in one vectorised pass.

    windows : int array, shape (batch, seq_len)  ->  probabilities, shape (batch, Y)
    """
    windows = _as_index_batch(windows, params["U"].shape[1], name="windows")
    return softmax(_logits(params, _last_hidden_state(params, windows)))


def predict_next(params: Params, windows: Array) -> Array:
    """Index of the most probable next character for each window; shape (batch,)."""
    windows = _as_index_batch(windows, params["U"].shape[1], name="windows")
    result: Array = np.argmax(_logits(params, _last_hidden_state(params, windows)), axis=-1)
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
    _as_index_batch(np.asarray(sequence)[None, :], params["U"].shape[1], name="prompt")
    produced = np.empty(n, dtype=np.int64)
    for step in range(n):
        window = np.asarray(sequence[-seq_length:], dtype=np.int64)[None, :]
        z = _logits(params, _last_hidden_state(params, window))[0]
        if temperature == 0:
            index = int(np.argmax(z))
        else:
            index = int(rng.choice(z.shape[0], p=softmax(z / temperature)))
        produced[step] = index
        sequence.append(index)
    return produced
