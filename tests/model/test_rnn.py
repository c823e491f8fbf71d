"""Initialisation, shapes and inference of the assignment's RNN."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from model import numerics, rnn
from model import rnn_reference as reference


def small_params(dtype: type = np.float64) -> rnn.Params:
    params = rnn.init_params(27, 12, 27, seed=5, dtype=dtype)
    params["b"] += 0.2
    params["c"] += np.linspace(-0.5, 0.5, 27).astype(dtype)
    return params


def test_init_params_shapes_scale_and_zero_biases() -> None:
    params = rnn.init_params(27, 400, 27, seed=0)
    assert {name: params[name].shape for name in rnn.PARAM_NAMES} == {
        "U": (400, 27),
        "W": (400, 400),
        "V": (27, 400),
        "b": (400,),
        "c": (27,),
    }
    assert params["W"].std() == pytest.approx(1 / np.sqrt(400), rel=0.01)
    assert params["U"].std() == pytest.approx(1 / np.sqrt(27), rel=0.05)
    assert not params["b"].any() and not params["c"].any()
    assert rnn.check_params(params) == (27, 400, 27)


def test_init_params_is_reproducible_and_honours_dtype() -> None:
    first, second = rnn.init_params(3, 4, 5, seed=9), rnn.init_params(3, 4, 5, seed=9)
    for name in rnn.PARAM_NAMES:
        np.testing.assert_array_equal(first[name], second[name])
    assert rnn.init_params(3, 4, 5, dtype=np.float32)["W"].dtype == np.float32


def test_reference_forward_equals_the_equations_step_by_step() -> None:
    params = small_params()
    inputs = np.array([[3, 1, 4, 1, 5]])
    cache = reference.forward(params, inputs)
    h = np.zeros(12)
    for t, index in enumerate(inputs[0]):
        h = np.maximum(params["U"][:, index] + params["W"] @ h + params["b"], 0)
        np.testing.assert_allclose(cache.h[t + 1, 0], h, rtol=1e-12)
        np.testing.assert_allclose(cache.z[t, 0], params["V"] @ h + params["c"], rtol=1e-12)


def test_next_char_probabilities_are_the_last_step_softmax_for_every_window() -> None:
    params = small_params()
    windows = np.array([[1, 2, 3, 4], [4, 3, 2, 1], [0, 0, 0, 26]])
    probabilities = rnn.next_char_probabilities(params, windows)
    assert probabilities.shape == (3, 27)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-12)
    for row, window in enumerate(windows):
        single = numerics.softmax(reference.forward(params, window[None, :]).z[-1, 0])
        np.testing.assert_allclose(probabilities[row], single, rtol=1e-12)
    np.testing.assert_array_equal(rnn.predict_next(params, windows), probabilities.argmax(axis=1))


def test_float32_inference_stays_float32_and_close_to_float64() -> None:
    params64 = small_params()
    params32 = {name: value.astype(np.float32) for name, value in params64.items()}
    windows = np.array([[5, 6, 7, 8, 9, 10]])
    p32 = rnn.next_char_probabilities(params32, windows)
    assert p32.dtype == np.float32
    np.testing.assert_allclose(p32, rnn.next_char_probabilities(params64, windows), atol=1e-5)


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        (np.array([1, 2, 3]), "inputs: expected shape"),
        (np.zeros((1, 0), dtype=int), "inputs: expected shape"),
        (np.array([[1.0, 2.0]]), "inputs: expected integers"),
        (np.array([[1, 27]]), r"inputs: indices must lie in 0\.\.26"),
        (np.array([[-1, 2]]), r"inputs: indices must lie in 0\.\.26"),
    ],
)
def test_bad_inputs_are_refused_by_name(inputs: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        rnn.hidden_states(small_params(), inputs)
    with pytest.raises(ValueError, match=message):
        reference.forward(small_params(), inputs)


def test_targets_of_another_shape_are_refused() -> None:
    with pytest.raises(ValueError, match="targets: shape"):
        rnn.loss_and_grads(small_params(), np.array([[1, 2, 3]]), np.array([[1, 2]]))


def test_check_params_names_the_wrong_array() -> None:
    params = small_params()
    params["V"] = np.zeros((27, 11))
    with pytest.raises(ValueError, match=r"V has shape \(27, 11\), expected \(27, 12\)"):
        rnn.check_params(params)


def test_inference_keeps_no_state_between_calls() -> None:
    params = small_params()
    windows = np.array([[7, 8, 9]])
    before = rnn.next_char_probabilities(params, windows)
    rnn.next_char_probabilities(params, np.array([[20, 21, 22]]))
    np.testing.assert_array_equal(rnn.next_char_probabilities(params, windows), before)


def test_the_public_step_returns_gradients_a_later_call_leaves_alone() -> None:
    params = rnn.init_params(5, 7, 5, seed=0)
    rng = np.random.default_rng(0)
    x, y = rng.integers(0, 5, (2, 3)), rng.integers(0, 5, (2, 3))
    _, first = rnn.loss_and_grads(params, x, y)
    kept = {name: grad.copy() for name, grad in first.items()}
    _, second = rnn.loss_and_grads(params, y, x)
    for name in rnn.PARAM_NAMES:
        assert first[name] is not second[name]
        np.testing.assert_array_equal(first[name], kept[name])


def test_the_public_step_gives_each_thread_its_own_scratch() -> None:
    params = rnn.init_params(5, 16, 5, seed=0)
    rng = np.random.default_rng(1)
    batches = [(rng.integers(0, 5, (3, 6)), rng.integers(0, 5, (3, 6))) for _ in range(8)]
    alone = [rnn.loss_and_grads(params, x, y) for x, y in batches]

    def repeatedly(index: int) -> bool:
        x, y = batches[index]
        loss, grads = alone[index]
        return all(
            (again := rnn.loss_and_grads(params, x, y))[0] == loss
            and all(np.array_equal(again[1][name], grads[name]) for name in rnn.PARAM_NAMES)
            for _ in range(50)
        )

    with ThreadPoolExecutor(4) as pool:
        assert all(pool.map(repeatedly, range(8)))
