"""One step of an LSTM cell, returning every gate value, and the assignment's example weights.

With v = [h_{t-1}; x_t] (length H + X) and each W of shape (H, H + X)::

    f = sigmoid(W_f v + b_f)          forget gate
    i = sigmoid(W_i v + b_i)          input gate
    o = sigmoid(W_o v + b_o)          output gate
    c_tilde = tanh(W_c v + b_c)       candidate cell value
    c_t = f * c_{t-1} + i * c_tilde
    h_t = o * tanh(c_t)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from model.errors import ArgumentError
from model.numerics import sigmoid

Array = NDArray[np.float64]
GATES = ("f", "i", "o", "c")
WEIGHT_NAMES = ("W_f", "b_f", "W_i", "b_i", "W_o", "b_o", "W_c", "b_c")


@dataclass(frozen=True)
class LSTMStep:
    """Every value of one step; each array has shape (H,)."""

    f: Array
    i: Array
    o: Array
    c_tilde: Array
    c: Array
    h: Array

    def as_lists(self) -> dict[str, list[float]]:
        return {name: getattr(self, name).tolist() for name in ("f", "i", "o", "c_tilde", "c", "h")}


def example_weights() -> dict[str, Array]:
    """The assignment's example weights: H = 1, X = 3, so v = [h_{t-1}, x_1, x_2, x_3]."""
    return {
        "W_f": np.array([[0.0, 8.0, 0.0, 0.0]]),
        "b_f": np.array([-4.0]),
        "W_i": np.array([[0.0, 0.0, 9.0, 0.0]]),
        "b_i": np.array([-4.5]),
        "W_o": np.array([[0.0, 0.0, 0.0, 10.0]]),
        "b_o": np.array([-5.0]),
        "W_c": np.array([[1.0, 0.0, 0.0, 0.0]]),
        "b_c": np.array([0.0]),
    }


EXAMPLE_H0 = (0.05,)
EXAMPLE_C0 = (-0.02,)
EXAMPLE_X_SIZE = 3
# The assignment's three inputs, fed to the example weights one at a time.
EXAMPLE_INPUTS = ([1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [1.0, 0.0, 1.0])


def _error(name: str, message: str) -> ArgumentError:
    """The weights are keys of the `weights` argument; x, h and c are arguments of their own."""
    return ArgumentError(("weights", name) if name in WEIGHT_NAMES else (name,), message)


def check_example_sizes(x: ArrayLike, h_prev: ArrayLike, c_prev: ArrayLike) -> None:
    """The example weights take x of length 3 and h, c of length 1: ArgumentError otherwise.

    step() itself reports a wrong size by the weight it does not fit; this names the vector.
    """
    expected = {"x": (x, EXAMPLE_X_SIZE), "h": (h_prev, len(EXAMPLE_H0)), "c": (c_prev, len(EXAMPLE_C0))}
    for name, (vector, size) in expected.items():
        length = np.size(vector)
        if length != size:
            raise ArgumentError(
                (name,),
                f"{name}: the assignment's example weights take x of length {EXAMPLE_X_SIZE} and h, c of "
                f"length {len(EXAMPLE_H0)}; got {length} (pass weights for other sizes)",
            )


def _finite_array(value: ArrayLike, name: str, ndim: int) -> Array:
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise _error(name, f"{name}: not an array of numbers ({error})") from None
    if array.ndim != ndim:
        raise _error(name, f"{name}: expected {ndim} dimension(s), got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise _error(name, f"{name}: contains NaN or infinity")
    return array


def validate(
    x: ArrayLike, h_prev: ArrayLike, c_prev: ArrayLike, weights: dict[str, Any]
) -> tuple[Array, Array, Array, dict[str, Array]]:
    """Arrays of the right shapes, or ArgumentError naming the argument that is wrong."""
    x_arr = _finite_array(x, "x", 1)
    h_arr = _finite_array(h_prev, "h", 1)
    c_arr = _finite_array(c_prev, "c", 1)
    n_hidden, n_in = h_arr.shape[0], x_arr.shape[0]
    if n_hidden < 1 or n_in < 1:
        raise ArgumentError((), "h, x: need at least one element each")
    if c_arr.shape != (n_hidden,):
        raise ArgumentError(("c",), f"c: expected shape ({n_hidden},) like h, got {c_arr.shape}")
    missing = [name for name in WEIGHT_NAMES if name not in weights]
    if missing:
        raise ArgumentError(("weights",), f"weights: missing {missing}")
    checked: dict[str, Array] = {}
    for gate in GATES:
        W = _finite_array(weights[f"W_{gate}"], f"W_{gate}", 2)
        b = _finite_array(weights[f"b_{gate}"], f"b_{gate}", 1)
        if W.shape != (n_hidden, n_hidden + n_in):
            raise _error(
                f"W_{gate}",
                f"W_{gate}: expected shape ({n_hidden}, {n_hidden + n_in}) = (H, H + X), got {W.shape}",
            )
        if b.shape != (n_hidden,):
            raise _error(f"b_{gate}", f"b_{gate}: expected shape ({n_hidden},), got {b.shape}")
        checked[f"W_{gate}"], checked[f"b_{gate}"] = W, b
    return x_arr, h_arr, c_arr, checked


def step(
    x: ArrayLike,
    h_prev: ArrayLike,
    c_prev: ArrayLike,
    weights: dict[str, Any] | None = None,
) -> LSTMStep:
    """One LSTM step; `weights` defaults to the assignment's example weights."""
    x_arr, h_arr, c_arr, w = validate(x, h_prev, c_prev, example_weights() if weights is None else weights)
    v = np.concatenate([h_arr, x_arr])
    with np.errstate(over="ignore", invalid="ignore"):
        pre = {gate: w[f"W_{gate}"] @ v + w[f"b_{gate}"] for gate in GATES}
    for gate, value in pre.items():
        if not np.all(np.isfinite(value)):
            raise ArgumentError(
                (), f"W_{gate}, b_{gate}, x, h: W_{gate} v + b_{gate} overflows; use smaller values"
            )
    f, i, o = sigmoid(pre["f"]), sigmoid(pre["i"]), sigmoid(pre["o"])
    c_tilde = np.tanh(pre["c"])
    c = f * c_arr + i * c_tilde
    h = o * np.tanh(c)
    return LSTMStep(f=f, i=i, o=o, c_tilde=c_tilde, c=c, h=h)
