"""Clipping and the optimisers' update rules, on numbers worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from training.optim import SGD, Adam, Clipping, clip_global_norm, clip_values


def arrays(*values: list[float]) -> dict[str, np.ndarray]:
    return {name: np.array(value) for name, value in zip(("U", "W", "V", "b", "c"), values, strict=False)}


def test_sgd_subtracts_the_learning_rate_times_the_gradient() -> None:
    params, grads = arrays([1.0, 2.0], [0.5]), arrays([10.0, -4.0], [1.0])
    SGD().step(params, grads, learning_rate=0.1)
    np.testing.assert_allclose(params["U"], [0.0, 2.4])
    np.testing.assert_allclose(params["W"], [0.4])


def test_clip_values_clips_each_entry() -> None:
    # The assignment's recipe: gradients [10, -0.5] with clip 5 step by lr * [5, -0.5].
    grads = arrays([10.0, -0.5], [-7.0])
    clip_values(grads, 5.0)
    np.testing.assert_array_equal(grads["U"], [5.0, -0.5])
    np.testing.assert_array_equal(grads["W"], [-5.0])


def test_clip_global_norm_scales_every_gradient_together() -> None:
    grads = arrays([3.0, 0.0], [4.0])  # joint norm 5
    assert clip_global_norm(grads, 1.0) == pytest.approx(5.0)
    np.testing.assert_allclose(grads["U"], [0.6, 0.0])
    np.testing.assert_allclose(grads["W"], [0.8])
    small = arrays([0.3], [0.4])
    assert clip_global_norm(small, 1.0) == pytest.approx(0.5)
    np.testing.assert_array_equal(small["U"], [0.3])


def test_clipping_applies_values_then_norm_and_none_is_off() -> None:
    grads = arrays([30.0, 0.0], [40.0])
    Clipping(value=None, norm=None)(grads)
    np.testing.assert_array_equal(grads["U"], [30.0, 0.0])
    Clipping(value=10.0, norm=1.0)(grads)  # [10, 0], [10]: norm 10 sqrt 2, scaled to 1
    np.testing.assert_allclose(grads["U"], [1 / np.sqrt(2), 0.0])
    np.testing.assert_allclose(grads["W"], [1 / np.sqrt(2)])


def test_adam_first_step_moves_each_entry_by_the_learning_rate() -> None:
    # After one step m/(1-b1) = g and v/(1-b2) = g^2, so the step is lr * g / (|g| + eps).
    params, grads = arrays([1.0, 1.0, 1.0]), arrays([0.2, -3.0, 0.0])
    Adam().step(params, grads, learning_rate=0.01)
    np.testing.assert_allclose(params["U"], [0.99, 1.01, 1.0], rtol=1e-7)


def test_adam_keeps_bias_corrected_moments_keyed_like_params() -> None:
    adam = Adam(beta1=0.5, beta2=0.5, epsilon=0.0)
    params = arrays([0.0])
    adam.step(params, arrays([1.0]), learning_rate=1.0)
    adam.step(params, arrays([3.0]), learning_rate=1.0)
    # m = 0.5 * 0.5 * 1 + 0.5 * 3 = 1.75, corrected 1.75 / 0.75; v = 0.25 + 4.5 = 4.75, / 0.75.
    assert adam.steps == 2 and set(adam.m) == set(adam.v) == {"U"}
    np.testing.assert_allclose(adam.m["U"], [1.75])
    np.testing.assert_allclose(adam.v["U"], [4.75])
    second = (1.75 / 0.75) / np.sqrt(4.75 / 0.75)
    np.testing.assert_allclose(params["U"], [-1.0 - second])
