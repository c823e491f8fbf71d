"""The fast path in model/rnn.py gives the numbers of the reference in model/rnn_reference.py,
at every shape where one of its tricks switches on or off."""

from __future__ import annotations

import numpy as np
import pytest

from model import numerics, rnn
from model import rnn_reference as reference

# (batch, seq_len): batch 1; the first-product table above 27 rows; seq_len 1 and 2.
SHAPES = [(1, 1), (1, 6), (3, 10), (16, 4), (27, 6), (28, 1), (28, 2), (40, 6), (70, 3)]


def problem(batch: int, seq_len: int, seed: int = 0) -> tuple[rnn.Params, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    params = rnn.init_params(27, 16, 27, seed=seed)
    params["b"] += 0.1
    params["c"] += np.linspace(-0.3, 0.3, 27)
    return params, rng.integers(0, 27, (batch, seq_len)), rng.integers(0, 27, (batch, seq_len))


@pytest.mark.parametrize(("batch", "seq_len"), SHAPES)
def test_fast_loss_and_grads_equal_the_reference(batch: int, seq_len: int) -> None:
    params, inputs, targets = problem(batch, seq_len, seed=batch + seq_len)
    loss, grads = rnn.loss_and_grads(params, inputs, targets)
    expected_loss, expected = reference.loss_and_grads(params, inputs, targets)
    assert loss == pytest.approx(expected_loss, rel=1e-12)
    for name in rnn.PARAM_NAMES:
        np.testing.assert_allclose(grads[name], expected[name], rtol=1e-10, atol=1e-14, err_msg=name)


@pytest.mark.parametrize(("batch", "seq_len"), SHAPES)
def test_fast_inference_equals_the_reference_forward_pass(batch: int, seq_len: int) -> None:
    params, inputs, _ = problem(batch, seq_len, seed=3)
    cache = reference.forward(params, inputs)
    np.testing.assert_allclose(rnn.hidden_states(params, inputs), cache.h, rtol=1e-12, atol=1e-14)
    expected = numerics.softmax(cache.z[-1])
    np.testing.assert_allclose(rnn.next_char_probabilities(params, inputs), expected, rtol=1e-12)
    np.testing.assert_array_equal(rnn.predict_next(params, inputs), expected.argmax(axis=1))


@pytest.mark.parametrize(("batch", "seq_len"), [(1, 6), (27, 6), (28, 1), (28, 2), (40, 6)])
def test_hidden_states_equal_the_recurrence_step_by_step(batch: int, seq_len: int) -> None:
    """Batches larger than X take W h_1 from a table of X rows: the same numbers."""
    params, inputs, _ = problem(batch, seq_len, seed=6)
    U, W, b = params["U"], params["W"], params["b"]
    h = np.zeros((batch, W.shape[0]))
    for t in range(seq_len):
        h = np.maximum(U[:, inputs[:, t]].T + h @ W.T + b, 0)
    np.testing.assert_allclose(rnn.hidden_states(params, inputs)[-1], h, rtol=1e-12, atol=1e-14)
    expected = numerics.softmax(h @ params["V"].T + params["c"])
    np.testing.assert_allclose(rnn.next_char_probabilities(params, inputs), expected, rtol=1e-12)


def test_gradients_in_a_reused_workspace_equal_fresh_ones() -> None:
    workspace = rnn.Workspace()
    for seed in (1, 2):
        params, inputs, targets = problem(40, 5, seed=seed)
        loss, grads = rnn.loss_and_grads(params, inputs, targets, workspace)
        expected_loss, expected = rnn.loss_and_grads(params, inputs, targets)
        assert loss == expected_loss
        for name in rnn.PARAM_NAMES:
            np.testing.assert_array_equal(grads[name], expected[name])


def test_float32_fast_path_stays_close_to_the_float64_reference() -> None:
    params, inputs, targets = problem(40, 10, seed=8)
    single = {name: value.astype(np.float32) for name, value in params.items()}
    loss, grads = rnn.loss_and_grads(single, inputs, targets)
    expected_loss, expected = reference.loss_and_grads(params, inputs, targets)
    assert grads["W"].dtype == np.float32
    assert loss == pytest.approx(expected_loss, rel=1e-5)
    for name in rnn.PARAM_NAMES:
        np.testing.assert_allclose(grads[name], expected[name], rtol=1e-3, atol=1e-5, err_msg=name)
