"""A character language model on the LSTM cell of model/lstm.py, with exact BPTT.

The four gates of model/lstm.py are stacked in one matrix, so that a step is one matrix
product, and the assignment's names are kept (x_t one-hot, so U x_t is a column of U)::

    a_t = U x_t + W h_{t-1} + b                U (4H, X), W (4H, H), b (4H,)
    f_t, i_t, o_t = sigmoid(a_t[f]), sigmoid(a_t[i]), sigmoid(a_t[o])
    c_tilde_t = tanh(a_t[c_tilde])
    s_t = f_t * s_{t-1} + i_t * c_tilde_t      the cell state (c in model/lstm.py)
    h_t = o_t * tanh(s_t)
    z_t = V (m_t * h_t) + c                    V (Y, H), c (Y,); m_t the dropout mask
    L   = mean over every (sequence, position) of -log softmax(z_t)[target_t]

The rows of a_t are ordered f, i, o, c_tilde (GATES). A model that reads windows starts each
from (h_0, s_0) = 0, in training and in inference alike, so its context is the window. A model
that reads whole texts (model/stream.py) trains on consecutive chunks of each sequence with
(h_0, s_0) carried from the end of the previous chunk (truncated BPTT: the values are carried,
the gradients stop at the chunk's start). The dropout mask is all ones in inference.

With contexts (model/contexts.py), e_t is a learned embedding of the short contexts that end
at x_t (already multiplied by its own dropout mask), and it enters both the gates and, by a
direct path, the logits; the parameters include E, Q and R::

    a_t = U x_t + W h_{t-1} + b + Q e_t        Q (4H, D)
    z_t = V (m_t * h_t) + c + R e_t            R (Y, D), zero at initialisation

The code is the equations, vectorised over the batch; there is no separate fast path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import DTypeLike, NDArray

from model import contexts
from model.numerics import sigmoid
from model.rnn import check_indices

Array = NDArray[Any]
Params = dict[str, Array]
PARAM_NAMES = ("U", "W", "b", "V", "c")
CONTEXT_PARAM_NAMES = (*PARAM_NAMES, *contexts.PARAM_NAMES)
GATES = ("f", "i", "o", "c_tilde")
FORGET_BIAS = 1.0  # the forget gate starts open, the usual initialisation of an LSTM


def init_params(
    n_in: int,
    n_hidden: int,
    n_out: int,
    seed: int = 0,
    dtype: DTypeLike = np.float64,
    with_contexts: bool = False,
) -> Params:
    """W, V drawn N(0, 1) / sqrt(H); U drawn N(0, 0.1^2); b zero but the forget gate's; c zero;
    with_contexts adds E, Q and R (model/contexts.py; R zero, so z_t starts as without it)."""
    rng = np.random.default_rng(seed)
    b = np.zeros(4 * n_hidden)
    b[:n_hidden] = FORGET_BIAS
    params = {
        "U": rng.standard_normal((4 * n_hidden, n_in)) * 0.1,
        "W": rng.standard_normal((4 * n_hidden, n_hidden)) / np.sqrt(n_hidden),
        "b": b,
        "V": rng.standard_normal((n_out, n_hidden)) / np.sqrt(n_hidden),
        "c": np.zeros(n_out),
    }
    if with_contexts:
        params |= contexts.init_params(n_hidden, n_out, rng)
    return {name: array.astype(dtype) for name, array in params.items()}


def init_params_with_contexts(
    n_in: int, n_hidden: int, n_out: int, seed: int = 0, dtype: DTypeLike = np.float64
) -> Params:
    return init_params(n_in, n_hidden, n_out, seed, dtype, with_contexts=True)


def param_shapes(
    n_in: int, n_hidden: int, n_out: int, with_contexts: bool = False
) -> dict[str, tuple[int, ...]]:
    """The shape of each array, in PARAM_NAMES (or CONTEXT_PARAM_NAMES) order."""
    shapes: dict[str, tuple[int, ...]] = {
        "U": (4 * n_hidden, n_in),
        "W": (4 * n_hidden, n_hidden),
        "b": (4 * n_hidden,),
        "V": (n_out, n_hidden),
        "c": (n_out,),
    }
    if with_contexts:
        shapes |= contexts.param_shapes(n_hidden, n_out)
    return shapes


def param_shapes_with_contexts(n_in: int, n_hidden: int, n_out: int) -> dict[str, tuple[int, ...]]:
    return param_shapes(n_in, n_hidden, n_out, with_contexts=True)


def check_params(params: Params) -> tuple[int, int, int]:
    """Validate the arrays' shapes against each other (all of E, Q, R or none); return (X, H, Y)."""
    missing = [name for name in PARAM_NAMES if name not in params]
    if missing:
        raise ValueError(f"params: missing arrays {missing}")
    if params["U"].ndim != 2 or params["V"].ndim != 2 or params["U"].shape[0] % 4:
        raise ValueError(f"params: U has shape {params['U'].shape}, expected (4H, X)")
    four_h, n_in = params["U"].shape
    n_hidden, n_out = four_h // 4, params["V"].shape[0]
    with_contexts = any(name in params for name in contexts.PARAM_NAMES)
    for name, shape in param_shapes(n_in, n_hidden, n_out, with_contexts).items():
        if name not in params:
            raise ValueError(f"params: missing arrays ['{name}']")
        if params[name].shape != shape:
            raise ValueError(f"params: {name} has shape {params[name].shape}, expected {shape}")
    return n_in, n_hidden, n_out


class Carried(NamedTuple):
    """What a chunk of training text hands the next chunk of the same sequences (truncated BPTT:
    values, not gradients): h_T, s_T (batch, H) and the last characters read (batch, HISTORY)."""

    h: Array
    s: Array
    history: Array | None


@dataclass(frozen=True)
class Cache:
    """Activations of one forward pass over inputs of shape (batch, T).

    h, s   : shape (T + 1, batch, H); index 0 is the zero state
    gates  : shape (T, batch, 4H); f, i, o after the sigmoid, c_tilde after the tanh
    tanh_s : shape (T, batch, H), tanh(s_t)
    rows, e, context_mask : the contexts' buckets (T, batch, ORDERS - 1), e_t (T, batch, D) after
             its dropout masks, and the mask on each looked-up row ((T, batch, 1), or
             (T, batch, ORDERS - 1) with order dropout), when the model has contexts
    """

    inputs: Array
    h: Array
    s: Array
    gates: Array
    tanh_s: Array
    rows: Array | None = None
    e: Array | None = None
    context_mask: Array | None = None


def forward(
    params: Params, inputs: Array, context_mask: Array | None = None, carried: Carried | None = None
) -> Cache:
    """Every h_t and s_t for index sequences inputs (batch, T), from the zero state or, with
    `carried`, from the state that the previous chunk of each sequence ended in."""
    U, W, b = params["U"], params["W"], params["b"]
    batch, T = inputs.shape
    H = W.shape[1]
    h = np.zeros((T + 1, batch, H), W.dtype)
    s = np.zeros_like(h)
    history = None
    if carried is not None:
        h[0], s[0], history = carried
    gates = np.take(U.T + b, inputs.T, axis=0)  # (T, batch, 4H): U x_t + b for every step
    rows = e = None
    if "E" in params:
        rows = contexts.buckets(inputs, history)
        e = contexts.embeddings(params["E"], rows, context_mask)
        gates += (e.reshape(-1, e.shape[-1]) @ params["Q"].T).reshape(gates.shape)  # Q e_t
    tanh_s = np.empty((T, batch, H), W.dtype)
    for t in range(T):
        a = gates[t]
        a += h[t] @ W.T
        a[:, : 3 * H] = sigmoid(a[:, : 3 * H])
        np.tanh(a[:, 3 * H :], out=a[:, 3 * H :])
        f, i, o, c_tilde = a[:, :H], a[:, H : 2 * H], a[:, 2 * H : 3 * H], a[:, 3 * H :]
        s[t + 1] = f * s[t] + i * c_tilde
        np.tanh(s[t + 1], out=tanh_s[t])
        np.multiply(o, tanh_s[t], out=h[t + 1])
    return Cache(inputs, h, s, gates, tanh_s, rows, e, context_mask)


def logits(params: Params, h: Array, e: Array | None = None) -> Array:
    """z = V h + c, plus R e with contexts, for h of shape (..., H) and e of shape (..., D).

    h is what V reads (m_t * h_t in training); e is the e_t of the same positions, required
    when the model has contexts.
    """
    flat = h.reshape(-1, h.shape[-1])
    z: Array = (flat @ params["V"].T).reshape(*h.shape[:-1], params["V"].shape[0])
    z += params["c"]
    if "R" in params:
        if e is None:
            raise ValueError("e: a model with contexts adds R e_t to its logits")
        z += contexts.direct(params["R"], e)
    return z


def loss_and_output_gradient(z: Array, targets: Array) -> tuple[float, Array]:
    """(L, dL/dz) for logits z (T, batch, Y) and targets (batch, T); L is the mean over positions."""
    flat = z.reshape(-1, z.shape[-1])
    picked, rows = targets.T.reshape(-1), np.arange(flat.shape[0])
    shifted = flat - flat.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    sums = e.sum(axis=1)
    loss = float((np.log(sums) - shifted[rows, picked]).mean())
    dz = e / sums[:, None]  # softmax(z) - onehot(target), over the number of positions
    dz[rows, picked] -= 1
    dz /= flat.shape[0]
    return loss, dz.reshape(z.shape)


def backward(
    params: Params, cache: Cache, dz: Array, mask: Array | None = None, dense_table: bool = True
) -> Params:
    """BPTT from dz = dL/dz (T, batch, Y) to the gradients of U, W, b, V, c (and E, Q, R).

    `mask` is the dropout mask m_t that multiplied h_t before V, shape (T, batch, H). Without
    dense_table, E's gradient is given per position (contexts.gradients).
    """
    W, V = params["W"], params["V"]
    T, batch, H = cache.tanh_s.shape
    h_out = cache.h[1:] if mask is None else cache.h[1:] * mask
    dz_flat = dz.reshape(-1, dz.shape[-1])
    dh_out = (dz_flat @ V).reshape(T, batch, H)  # what each h_t receives from its own output
    if mask is not None:
        dh_out *= mask
    da = np.empty_like(cache.gates)  # dL/da_t, (T, batch, 4H)
    dh, ds = np.zeros((batch, H), W.dtype), np.zeros((batch, H), W.dtype)
    for t in range(T - 1, -1, -1):
        gate = cache.gates[t]
        f, i, o, c_tilde = gate[:, :H], gate[:, H : 2 * H], gate[:, 2 * H : 3 * H], gate[:, 3 * H :]
        dh += dh_out[t]
        ds += dh * o * (1 - cache.tanh_s[t] ** 2)
        da[t, :, :H] = ds * cache.s[t] * f * (1 - f)
        da[t, :, H : 2 * H] = ds * c_tilde * i * (1 - i)
        da[t, :, 2 * H : 3 * H] = dh * cache.tanh_s[t] * o * (1 - o)
        da[t, :, 3 * H :] = ds * i * (1 - c_tilde**2)
        ds *= f  # ds_{t-1} = ds_t * f_t, before what h_{t-1} adds
        dh = da[t] @ W
    da_flat = da.reshape(-1, 4 * H)
    dU_T = np.zeros((params["U"].shape[1], 4 * H), W.dtype)
    np.add.at(dU_T, cache.inputs.T.reshape(-1), da_flat)  # U x_t is column x_t of U
    grads = {
        "U": np.ascontiguousarray(dU_T.T),
        "W": da_flat.T @ cache.h[:-1].reshape(-1, H),
        "b": da_flat.sum(axis=0),
        "V": dz_flat.T @ h_out.reshape(-1, H),
        "c": dz_flat.sum(axis=0),
    }
    if cache.rows is not None and cache.e is not None:
        grads |= contexts.gradients(params, cache.rows, cache.e, da, dz, cache.context_mask, dense_table)
    return grads


def dropout_mask(shape: tuple[int, ...], rate: float, rng: np.random.Generator, dtype: DTypeLike) -> Array:
    """Inverted dropout: each entry is 0 with probability `rate`, else 1 / (1 - rate)."""
    keep = rng.random(shape) >= rate
    mask: Array = keep.astype(dtype) / (1 - rate)
    return mask


def loss_and_grads(
    params: Params,
    inputs: Array,
    targets: Array,
    dropout: float = 0.0,
    rng: np.random.Generator | None = None,
    context_dropout: float = 0.0,
    order_dropout: float = 0.0,
) -> tuple[float, Params]:
    """(L, gradients) for index arrays inputs and targets of shape (batch, T), from the zero state."""
    loss, grads, _ = loss_grads_and_carry(
        params, inputs, targets, None, dropout, rng, context_dropout, order_dropout
    )
    return loss, grads


def loss_grads_and_carry(
    params: Params,
    inputs: Array,
    targets: Array,
    carried: Carried | None,
    dropout: float = 0.0,
    rng: np.random.Generator | None = None,
    context_dropout: float = 0.0,
    order_dropout: float = 0.0,
) -> tuple[float, Params, Carried]:
    """(L, gradients, the state to carry into the next chunk) for one chunk (batch, T) of each
    of `batch` sequences, read from `carried` (None: the sequences' start). Truncated BPTT: the
    gradients stop at the chunk's start."""
    rng = rng or np.random.default_rng()
    context_mask = context_masks(params, inputs.shape, context_dropout, order_dropout, rng)
    cache = forward(params, inputs, context_mask, carried)
    mask = None
    if dropout > 0:
        mask = dropout_mask(cache.tanh_s.shape, dropout, rng, params["W"].dtype)
    h_out = cache.h[1:] if mask is None else cache.h[1:] * mask
    loss, dz = loss_and_output_gradient(logits(params, h_out, cache.e), targets)
    history = None
    if "E" in params:
        history = contexts.next_history(None if carried is None else carried.history, inputs)
    return loss, backward(params, cache, dz, mask), Carried(cache.h[-1].copy(), cache.s[-1].copy(), history)


def context_masks(
    params: Params, shape: tuple[int, ...], rate: float, order_rate: float, rng: np.random.Generator
) -> Array | None:
    """The mask on the looked-up rows of E for inputs of shape (batch, T): m_t (T, batch, 1),
    times o_tk (T, batch, ORDERS - 1) with order dropout; None without contexts or dropout."""
    if "E" not in params:
        return None
    dtype = params["W"].dtype
    batch, T = shape
    mask = dropout_mask((T, batch, 1), rate, rng, dtype) if rate > 0 else None
    if order_rate > 0:
        orders = dropout_mask((T, batch, contexts.ORDERS - 1), order_rate, rng, dtype)
        mask = orders if mask is None else mask * orders
    return mask


def next_char_logits(params: Params, windows: Array) -> Array:
    """z_T after each window, read from the zero state: (batch, T) -> (batch, Y)."""
    windows = check_indices(windows, params["U"].shape[1], name="windows")
    cache = forward(params, windows)
    return logits(params, cache.h[-1], None if cache.e is None else cache.e[-1])
