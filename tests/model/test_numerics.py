"""softmax, log_softmax and sigmoid: the formulas of their docstring, stable, in the input's dtype."""

from __future__ import annotations

import numpy as np
import pytest

from model.numerics import log_softmax, sigmoid, softmax


def test_sigmoid_does_not_overflow() -> None:
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        values = sigmoid(np.array([-1000.0, 0.0, 1000.0]))
    np.testing.assert_array_equal(values, [0.0, 0.5, 1.0])


def test_sigmoid_is_the_logistic_function_to_an_ulp_of_one() -> None:
    a = np.linspace(-30, 30, 10_001)
    np.testing.assert_allclose(sigmoid(a), 1 / (1 + np.exp(-a)), rtol=0, atol=2**-52)


def test_softmax_is_its_formula_and_stable() -> None:
    z = np.array([[1.0, 2.0, 3.0], [1000.0, 1000.0, -1000.0]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        y = softmax(z)
    e = np.exp([1.0, 2.0, 3.0])
    np.testing.assert_allclose(y[0], e / e.sum(), rtol=1e-15)
    np.testing.assert_array_equal(y[1], [0.5, 0.5, 0.0])


def test_log_softmax_is_the_log_of_softmax_and_stable() -> None:
    z = np.random.default_rng(0).standard_normal((4, 5, 27)) * 10
    np.testing.assert_allclose(log_softmax(z), np.log(softmax(z)), rtol=1e-12, atol=1e-15)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        assert log_softmax(np.array([1000.0, 0.0]))[1] == -1000.0


@pytest.mark.parametrize("function", [softmax, log_softmax, sigmoid])
def test_float32_stays_float32(function: object) -> None:
    z = np.ones((2, 3), dtype=np.float32)
    assert function(z).dtype == np.float32  # type: ignore[operator]
