"""The LSTM cell on the assignment's example weights, against closed forms written with math.exp
and math.tanh."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from model import lstm

H0, C0 = lstm.EXAMPLE_H0[0], lstm.EXAMPLE_C0[0]


def sigma(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


def closed_form(x1: float, x2: float, x3: float) -> dict[str, float]:
    """The example weights' step by hand: f, i, o read x1, x2, x3; the candidate reads h_{t-1}."""
    f, i, o = sigma(8 * x1 - 4), sigma(9 * x2 - 4.5), sigma(10 * x3 - 5)
    c_tilde = math.tanh(H0)
    c = f * C0 + i * c_tilde
    return {"f": f, "i": i, "o": o, "c_tilde": c_tilde, "c": c, "h": o * math.tanh(c)}


EXAMPLE_INPUTS = [(1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (1.0, 0.0, 1.0), (1.0, 1.0, 0.0), (1.0, 1.0, 0.5)]


@pytest.mark.parametrize("x", EXAMPLE_INPUTS)
def test_every_gate_value_matches_the_closed_form(x: tuple[float, float, float]) -> None:
    result = lstm.step(x, [H0], [C0])
    for name, expected in closed_form(*x).items():
        value = getattr(result, name)
        assert value.shape == (1,)
        assert value[0] == pytest.approx(expected, abs=1e-6), name


def test_first_example_input_keeps_the_memory_and_hides_it() -> None:
    result = lstm.step([1, 0, 0], [H0], [C0])
    assert result.f[0] == pytest.approx(0.98201379, abs=1e-6)
    assert result.i[0] == pytest.approx(0.01098694, abs=1e-6)
    assert result.o[0] == pytest.approx(0.00669285, abs=1e-6)
    assert result.c[0] == pytest.approx(-0.01909139, abs=1e-6)
    assert abs(result.h[0]) < 2e-4


def test_question_b_adds_the_previous_output_to_the_memory() -> None:
    result = lstm.step([1, 1, 0], [H0], [C0])
    assert result.c[0] == pytest.approx(C0 + H0, abs=5e-4)
    assert result.c[0] == pytest.approx(0.02976921, abs=1e-6)


def test_question_c_exposes_half_of_that_sum() -> None:
    result = lstm.step([1, 1, 0.5], [H0], [C0])
    assert result.o[0] == pytest.approx(0.5, abs=1e-12)
    assert result.h[0] == pytest.approx((C0 + H0) / 2, abs=5e-4)
    assert result.h[0] == pytest.approx(0.01488021, abs=1e-6)


def test_default_weights_are_the_example_weights() -> None:
    assert lstm.step([0, 1, 0], [H0], [C0]) == lstm.step([0, 1, 0], [H0], [C0], lstm.example_weights())


def test_any_hidden_and_input_size_matches_a_direct_computation() -> None:
    rng = np.random.default_rng(0)
    n_hidden, n_in = 4, 3
    weights = {}
    for gate in lstm.GATES:
        weights[f"W_{gate}"] = rng.standard_normal((n_hidden, n_hidden + n_in))
        weights[f"b_{gate}"] = rng.standard_normal(n_hidden)
    x, h, c = rng.standard_normal(n_in), rng.standard_normal(n_hidden), rng.standard_normal(n_hidden)
    result = lstm.step(x, h, c, weights)
    v = np.concatenate([h, x])
    pre = {g: weights[f"W_{g}"] @ v + weights[f"b_{g}"] for g in lstm.GATES}
    f, i, o = (1 / (1 + np.exp(-pre[g])) for g in "fio")
    c_new = f * c + i * np.tanh(pre["c"])
    np.testing.assert_allclose(result.c, c_new, rtol=1e-12)
    np.testing.assert_allclose(result.h, o * np.tanh(c_new), rtol=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"x": [1, 0]}, "W_f: expected shape (1, 3)"),
        ({"x": [[1, 0, 0]]}, "x: expected 1 dimension"),
        ({"h": [0.1, 0.2]}, "c: expected shape (2,)"),
        ({"c": [0.1, 0.2]}, "c: expected shape (1,)"),
        ({"x": [1, float("nan"), 0]}, "x: contains NaN or infinity"),
        ({"h": [float("inf")]}, "h: contains NaN or infinity"),
        ({"x": ["a", 0, 0]}, "x: not an array of numbers"),
        ({"x": []}, "h, x: need at least one element"),
    ],
)
def test_bad_arguments_raise_value_error_naming_them(kwargs: dict[str, object], message: str) -> None:
    arguments: dict[str, object] = {"x": [1, 0, 0], "h": [H0], "c": [C0], **kwargs}
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        lstm.step(arguments["x"], arguments["h"], arguments["c"])  # type: ignore[arg-type]


def test_bad_weights_are_named() -> None:
    weights = lstm.example_weights()
    weights["b_o"] = np.array([0.0, 1.0])
    with pytest.raises(ValueError, match=r"b_o: expected shape \(1,\)"):
        lstm.step([1, 0, 0], [H0], [C0], weights)
    del weights["W_c"]
    with pytest.raises(ValueError, match="weights: missing"):
        lstm.step([1, 0, 0], [H0], [C0], weights)


@given(
    n_hidden=st.integers(1, 4),
    n_in=st.integers(1, 4),
    wrong_columns=st.integers(1, 9),
)
def test_any_wrong_weight_width_is_refused(n_hidden: int, n_in: int, wrong_columns: int) -> None:
    if wrong_columns == n_hidden + n_in:
        wrong_columns += 1
    weights: dict[str, np.ndarray] = {}
    for gate in lstm.GATES:
        weights[f"W_{gate}"] = np.zeros((n_hidden, n_hidden + n_in))
        weights[f"b_{gate}"] = np.zeros(n_hidden)
    weights["W_i"] = np.zeros((n_hidden, wrong_columns))
    with pytest.raises(ValueError, match="W_i: expected shape"):
        lstm.step(np.zeros(n_in), np.zeros(n_hidden), np.zeros(n_hidden), weights)


def test_finite_values_whose_products_overflow_are_refused() -> None:
    with pytest.raises(ValueError, match="W_f v \\+ b_f overflows"):
        lstm.step([1e308, 0, 0], [H0], [C0])
