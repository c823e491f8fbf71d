"""The character RNN's fast path: training gradients, inference and generation.

The equations, their names and a plain implementation of them are in model/rnn_reference.py;
this module computes the same numbers (tests/model/test_rnn_reference.py) with the tricks
that docs/performance.md measures, each labelled with its gain where it happens. Every
function here is pure: scratch arrays belong to the caller (a `Workspace`), never to a shared
object, so a server may call them from many threads at once.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
from numpy.typing import DTypeLike, NDArray

from model.numerics import log_softmax, softmax

Array = NDArray[Any]
Params = dict[str, Array]
PARAM_NAMES = ("U", "W", "V", "b", "c")
FIRST_PRODUCT_TABLE = True  # W h_1 from a table of X rows when the batch has more than X


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


def param_shapes(n_in: int, n_hidden: int, n_out: int) -> dict[str, tuple[int, ...]]:
    """The shape of each array, in PARAM_NAMES order."""
    return {
        "U": (n_hidden, n_in),
        "W": (n_hidden, n_hidden),
        "V": (n_out, n_hidden),
        "b": (n_hidden,),
        "c": (n_out,),
    }


def check_params(params: Params) -> tuple[int, int, int]:
    """Validate the five arrays' shapes against each other; return (X, H, Y)."""
    missing = [name for name in PARAM_NAMES if name not in params]
    if missing:
        raise ValueError(f"params: missing arrays {missing}")
    n_hidden, n_in = params["U"].shape
    n_out = params["V"].shape[0]
    for name, shape in param_shapes(n_in, n_hidden, n_out).items():
        if params[name].shape != shape:
            raise ValueError(f"params: {name} has shape {params[name].shape}, expected {shape}")
    return n_in, n_hidden, n_out


def check_indices(inputs: Array, n_in: int, name: str = "inputs") -> Array:
    """An int array of shape (batch, seq_len), both >= 1, every index in 0..n_in - 1."""
    array = np.asarray(inputs)
    if array.ndim != 2 or array.shape[0] < 1 or array.shape[1] < 1:
        raise ValueError(f"{name}: expected shape (batch, seq_len) with both >= 1, got {array.shape}")
    if not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"{name}: expected integers, got dtype {array.dtype}")
    if array.min() < 0 or array.max() >= n_in:
        raise ValueError(f"{name}: indices must lie in 0..{n_in - 1}")
    return array


def check_batch(params: Params, inputs: Array, targets: Array) -> tuple[Array, Array]:
    """Index arrays of one shape (batch, seq_len), in range, or a ValueError naming the wrong one."""
    inputs = check_indices(inputs, params["U"].shape[1])
    targets = check_indices(targets, params["V"].shape[0], name="targets")
    if targets.shape != inputs.shape:
        raise ValueError(f"targets: shape {targets.shape} differs from inputs {inputs.shape}")
    return inputs, targets


class Workspace:
    """Scratch arrays that a caller lends to the training step, reused from one step to the next:
    21% of a batch-256 step, nothing at batch 1 (docs/performance.md).

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

    def __len__(self) -> int:
        return len(self._arrays)


# One scratch Workspace per thread for callers that pass none: the public call reuses its
# temporaries as the trainer's loop does (bench/training_step.py measures both), and threads
# never share one.
_per_thread = threading.local()
MAX_SCRATCH_ARRAYS = 64  # a caller cycling through many shapes drops the old ones, not the memory


def _thread_scratch() -> Workspace:
    """This thread's scratch Workspace, emptied when it holds more than MAX_SCRATCH_ARRAYS."""
    workspace: Workspace | None = getattr(_per_thread, "workspace", None)
    if workspace is None or len(workspace) > MAX_SCRATCH_ARRAYS:
        workspace = _per_thread.workspace = Workspace()
    return workspace


def _empty(workspace: Workspace | None, name: str, shape: tuple[int, ...], dtype: DTypeLike) -> Array:
    return np.empty(shape, dtype) if workspace is None else workspace.get(name, shape, dtype)


def _hidden_states(
    params: Params, inputs: Array, keep_all: bool = True, workspace: Workspace | None = None
) -> Array:
    """The recurrence, for indices known to lie in range.

    keep_all: h_0..h_T, shape (seq_len + 1, batch, H), for backpropagation; otherwise h_T
    alone, shape (batch, H), computed in two (batch, H) buffers whatever seq_len is.
    """
    W = params["W"]
    batch, seq_len = inputs.shape
    slots = seq_len + 1 if keep_all else 2
    h = _empty(workspace, "h", (slots, batch, W.shape[0]), np.result_type(params["U"], W, params["b"]))
    terms = params["U"].T + params["b"]  # (X, H): row x is U x + b
    h[0] = 0
    np.maximum(terms[inputs[:, 0]], 0, out=h[1])  # h_0 = 0, so a_1 = U x_1 + b needs no product
    for t in range(1, seq_len):
        current = h[(t + 1) % slots]
        if t == 1 and FIRST_PRODUCT_TABLE and batch > terms.shape[0]:
            # h_1 depends on x_1 alone, so X products stand in for the batch's: 5-15% of a
            # batch-256 training step, 4-6% of inference on 1000 windows (docs/performance.md)
            np.take(np.maximum(terms, 0) @ W.T, inputs[:, 0], axis=0, out=current)
        else:
            np.matmul(h[t % slots], W.T, out=current)
        current += terms[inputs[:, t]]
        np.maximum(current, 0, out=current)
    return h if keep_all else h[seq_len % slots]


def hidden_states(params: Params, inputs: Array) -> Array:
    """h_0..h_T for a batch of index sequences; shape (seq_len + 1, batch, H).

    inputs : int array, shape (batch, seq_len)
    """
    return _hidden_states(params, check_indices(inputs, params["U"].shape[1]))


def _logits(params: Params, h: Array) -> Array:
    """z = V h + c for h of shape (..., H); the product is one 2-D matrix product."""
    flat = h.reshape(-1, h.shape[-1])
    z: Array = flat @ params["V"].T
    z += params["c"]
    return z.reshape(*h.shape[:-1], z.shape[-1])


def _loss_and_output_gradient(z: Array, targets: Array) -> tuple[float, Array]:
    """(L, dL/dz) from the logits z, shape (seq_len, batch, Y); dz = (y - onehot(target)) / B."""
    seq_len, batch = z.shape[:2]
    picked = (np.arange(seq_len)[:, None], np.arange(batch)[None, :], targets.T)
    log_y = log_softmax(z)
    loss = float(-log_y[picked].sum() / batch)
    dz = np.exp(log_y, out=log_y)
    dz[picked] -= 1
    dz /= batch
    return loss, dz


def _gradients(
    params: Params,
    h: Array,
    inputs: Array,
    dz: Array,
    workspace: Workspace | None = None,
    grads_workspace: Workspace | None = None,
) -> Params:
    """BPTT from dz = dL/dz, shape (seq_len, batch, Y), to the five parameter gradients; the
    scratch arrays come from `workspace`, the gradients from `grads_workspace` (new arrays
    without one)."""
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
    grads = {name: _empty(grads_workspace, "d" + name, params[name].shape, dtype) for name in PARAM_NAMES}
    grads["U"][...] = _input_gradient_T(inputs.T.reshape(-1), da_flat, n_in).T
    # One matrix product per weight gradient, over all steps and sequences at once.
    np.matmul(da_flat[batch:].T, h_out[:-batch], out=grads["W"])  # the t = 1 term has h_0 = 0
    np.matmul(dz_flat.T, h_out, out=grads["V"])
    np.sum(grads["U"], axis=1, out=grads["b"])  # each x_t picks one column: dU's row sums are db
    np.sum(dz_flat, axis=0, out=grads["c"])
    return grads


def _input_gradient_T(x: Array, da_flat: Array, n_in: int) -> Array:
    """dU transposed, shape (X, H): row i is the sum of da_t over the steps whose input x_t is i.

    The steps are sorted by input and each run of equal inputs summed by one reduceat: 18%
    of a batch-256 step against the reference's np.add.at (docs/performance.md).
    """
    dU_T = np.zeros((n_in, da_flat.shape[1]), dtype=da_flat.dtype)
    order = np.argsort(x, kind="stable")
    sorted_x = x[order]
    starts = np.flatnonzero(np.concatenate(([True], sorted_x[1:] != sorted_x[:-1])))
    dU_T[sorted_x[starts]] = np.add.reduceat(da_flat[order], starts, axis=0)
    return dU_T


def loss_and_grads(
    params: Params, inputs: Array, targets: Array, workspace: Workspace | None = None
) -> tuple[float, Params]:
    """(L, grads) for integer arrays inputs, targets of shape (batch, seq_len).

    With a `workspace`, the returned arrays are its buffers: valid until the next call with
    the same workspace, and free for the caller to clip in place. Without one the gradients
    are new arrays the caller keeps, and the scratch arrays are this thread's, reused from
    call to call.
    """
    inputs, targets = check_batch(params, inputs, targets)
    scratch = workspace if workspace is not None else _thread_scratch()
    h = _hidden_states(params, inputs, workspace=scratch)
    loss, dz = _loss_and_output_gradient(_logits(params, h[1:]), targets)
    return loss, _gradients(params, h, inputs, dz, scratch, grads_workspace=workspace)


def next_char_logits(params: Params, windows: Array) -> Array:
    """z_T after each window in one vectorised pass.

    windows : int array, shape (batch, seq_len)  ->  logits, shape (batch, Y)
    """
    windows = check_indices(windows, params["U"].shape[1], name="windows")
    return _logits(params, _hidden_states(params, windows, keep_all=False))


def next_char_probabilities(params: Params, windows: Array) -> Array:
    """y_T = softmax(z_T) after each window, shape (batch, Y)."""
    return softmax(next_char_logits(params, windows))


def predict_next(params: Params, windows: Array) -> Array:
    """Index of the most probable next character for each window; shape (batch,)."""
    result: Array = np.argmax(next_char_logits(params, windows), axis=-1)
    return result
