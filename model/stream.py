"""Reading a text as a stream: the LSTM language model's state carried from the text's first
character, one step per character, as char-rnn and min-char-rnn read.

The equations are model/lstm_lm.py's, at inference (every dropout mask is 1)::

    a_t = U x_t + b + Q e_t + W h_{t-1}
    s_t = f_t * s_{t-1} + i_t * c_tilde_t,   h_t = o_t * tanh(s_t)
    z_t = V h_t + c + R e_t                  the logits of the character after x_t

A `State` holds (h_t, s_t) for each of `rows` streams, the last characters read (the contexts
of model/contexts.py reach HISTORY characters back, across any chunk boundary) and z_t, the
logits after the last character read. `read` continues every stream by the same number of
characters, so reading a text in one call or in chunks of any sizes gives the same state.

lstm_lm.forward is the readable reference: the same numbers for a whole batch of windows,
with each product taken over all positions at once (tests/model/test_stream.py checks that the
two agree). Here each product is taken step by step on arrays of `rows` rows, so that every
number a row gets comes from calls of one shape: with a row-invariant block of rows
(model/batching.py), a stream's bits never depend on which chunks it was read in, on the
other streams beside it, or on whether its state came from a cache.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from model import contexts
from model.numerics import sigmoid

Array = NDArray[Any]
Params = dict[str, Array]


GATHERED = 256  # steps whose input rows `read` looks up in one call (256 x 4H floats per row)


@dataclass(frozen=True)
class State:
    """Where `rows` streams stand: h, s (rows, H); history (rows, HISTORY), -1 before the start,
    or None without contexts; z (rows, Y) after the last character, None before any."""

    h: Array
    s: Array
    history: Array | None
    z: Array | None = None

    @property
    def rows(self) -> int:
        return int(self.h.shape[0])

    @property
    def nbytes(self) -> int:
        arrays = (self.h, self.s, self.history, self.z)
        return sum(array.nbytes for array in arrays if array is not None)


def start(params: Params, rows: int = 1) -> State:
    """The zero state of `rows` streams that have read nothing."""
    return start_prepared(prepare(params), rows)


@dataclass(frozen=True)
class Prepared:
    """The transposed weights that a step multiplies by, made once per model."""

    input_rows: Array  # (X, 4H): U^T + b, row x is U x + b
    WT: Array  # (H, 4H)
    VT: Array  # (H, Y)
    c: Array
    E: Array | None
    QT: Array | None  # (D, 4H)
    RT: Array | None  # (D, Y)


def prepare(params: Params) -> Prepared:
    def transposed(name: str) -> Array | None:
        return np.ascontiguousarray(params[name].T) if name in params else None

    return Prepared(
        np.ascontiguousarray(params["U"].T + params["b"]),
        np.ascontiguousarray(params["W"].T),
        np.ascontiguousarray(params["V"].T),
        params["c"],
        params.get("E"),
        transposed("Q"),
        transposed("R"),
    )


def cell(a: Array, s: Array) -> tuple[Array, Array]:
    """h_t, s_t from the pre-activations a = [f i o g] (rows, 4H), in place, and s_{t-1}:
    f, i, o = sigmoid, g = tanh, s_t = f * s_{t-1} + i * g, h_t = o * tanh(s_t). One function for
    `read` and `step`, so that both make the same calls on the same shapes."""
    H = s.shape[1]
    sigmoid(a[:, : 3 * H], out=a[:, : 3 * H])
    np.tanh(a[:, 3 * H :], out=a[:, 3 * H :])
    s = a[:, :H] * s + a[:, H : 2 * H] * a[:, 3 * H :]
    return a[:, 2 * H : 3 * H] * np.tanh(s), s


def read(weights: Prepared, state: State, inputs: Array, keep_logits: bool = True) -> tuple[Array, State]:
    """Continue each stream by its row of inputs (rows, T): (z of every step (T, rows, Y), the
    state after). With keep_logits False only the last step's z is kept (in the state), and the
    returned array is empty."""
    rows, T = inputs.shape
    if rows != state.rows:
        raise ValueError(f"inputs: {rows} rows for a state of {state.rows} streams")
    h, s = state.h, state.s
    history = state.history
    e = None
    if weights.E is not None:
        buckets = contexts.buckets(inputs, history)  # (T, rows, ORDERS - 1)
        e = weights.E.take(buckets, axis=0).sum(axis=2)  # (T, rows, D), summed row by row
        history = contexts.next_history(history, inputs)
    zs = np.empty((T if keep_logits else 0, rows, weights.VT.shape[1]), weights.WT.dtype)
    z = state.z
    for t in range(T):
        if t % GATHERED == 0:  # U x_t + b for the next GATHERED steps, looked up at once
            gathered = weights.input_rows[inputs[:, t : t + GATHERED].T]  # (steps, rows, 4H)
        a = gathered[t % GATHERED]  # (rows, 4H), a buffer of its own
        if e is not None:
            a += e[t] @ weights.QT
        a += h @ weights.WT
        h, s = cell(a, s)
        if keep_logits or t == T - 1:  # z of the steps between is never read: not computed
            z = np.matmul(h, weights.VT, out=zs[t] if keep_logits else None)
            z += weights.c
            if e is not None:
                z += e[t] @ weights.RT
    if keep_logits and T:
        z = zs[-1].copy()  # a state kept in a cache holds its own z, not a view of every step's
    return zs, replace(state, h=h, s=s, history=history, z=z)


def step(weights: Prepared, state: State, index: int) -> State:
    """`read(weights, state, [[index]], keep_logits=False)[1]` for a state of one stream: one
    character, the same calls on the same shapes, so the same bits (tests/model/test_stream.py).
    Generation feeds one character at a time, where `read`'s set-up for a chunk of any length
    costs more than the step itself."""
    if state.rows != 1:
        raise ValueError(f"state: {state.rows} streams, step continues one")
    history, e = state.history, None
    a = weights.input_rows[[index]]  # (1, 4H)
    if weights.E is not None:
        assert history is not None  # a model with contexts keeps the characters before
        e = weights.E.take(contexts.step_buckets(history[0].tolist(), index), axis=0).sum(axis=0)[None]
        a += e @ weights.QT
        history = np.concatenate([history[:, 1:], np.array([[index]], history.dtype)], axis=1)
    a += state.h @ weights.WT
    h, s = cell(a, state.s)
    z = h @ weights.VT + weights.c
    if e is not None:
        z += e @ weights.RT
    return State(h, s, history, z)


class Reader:
    """One text read as a stream, chunk after chunk: the state is carried between calls. The
    text is row 0 of a state of `rows` rows (the others read spaces), so that every step has
    the shape that the caller chose for its bits (model/batching.py)."""

    def __init__(self, weights: Prepared, rows: int = 1, state: State | None = None) -> None:
        self.weights = weights
        self.rows = rows
        self.state = state if state is not None else start_prepared(weights, rows)

    def read(self, indices: Array) -> Array:
        """z after each character of indices (T,): shape (T, Y), row 0's."""
        inputs = np.zeros((self.rows, len(indices)), np.int64)
        inputs[0] = indices
        zs, self.state = read(self.weights, self.state, inputs)
        return zs[:, 0]


def start_prepared(weights: Prepared, rows: int = 1) -> State:
    """The zero state of `rows` streams for prepared weights."""
    H = weights.WT.shape[0]
    dtype = weights.WT.dtype
    history = np.full((rows, contexts.HISTORY), -1, np.int64) if weights.E is not None else None
    return State(np.zeros((rows, H), dtype), np.zeros((rows, H), dtype), history)
