"""The SGD loop and the learning-rate schedule, on small text made here."""

from __future__ import annotations

import numpy as np
import pytest

from model.alphabet import ALPHABET_SIZE, encode, simplify
from model.rnn import init_params, loss_and_grads
from training.data import Span, windows
from training.train import Schedule, apply_steps, train

TEXT = simplify("The cat sat on the mat. The dog sat on the log. " * 8)


def small_problem(seq_length: int = 5) -> tuple[np.ndarray, np.ndarray]:
    indices = encode(TEXT)
    return windows(indices, Span(0, len(indices), 1), seq_length)


def test_schedule_halves_the_rate_for_each_five_epoch_segment() -> None:
    rates = [Schedule(0.001, 5, 0.5).rate(epoch) for epoch in range(1, 16)]
    assert rates == [0.001] * 5 + [0.0005] * 5 + [0.00025] * 5


@pytest.mark.parametrize("batch_size", [1, 16])
def test_training_lowers_the_loss(batch_size: int) -> None:
    inputs, targets = small_problem()
    params = init_params(ALPHABET_SIZE, 24, ALPHABET_SIZE, seed=0)
    before, _ = loss_and_grads(params, inputs, targets)
    history = train(params, inputs, targets, epochs=4, schedule=Schedule(0.05, 2, 0.5), batch_size=batch_size)
    after, _ = loss_and_grads(params, inputs, targets)
    assert [record.epoch for record in history] == [1, 2, 3, 4]
    assert [record.learning_rate for record in history] == [0.05, 0.05, 0.025, 0.025]
    assert history[-1].loss < history[0].loss
    assert after < 0.6 * before


def test_training_is_reproducible_with_a_seed() -> None:
    inputs, targets = small_problem()
    first, second = (
        init_params(ALPHABET_SIZE, 8, ALPHABET_SIZE, seed=1),
        init_params(ALPHABET_SIZE, 8, ALPHABET_SIZE, seed=1),
    )
    train(first, inputs, targets, epochs=1, schedule=Schedule(0.01), seed=7)
    train(second, inputs, targets, epochs=1, schedule=Schedule(0.01), seed=7)
    np.testing.assert_array_equal(first["W"], second["W"])


def test_apply_steps_clips_each_step_entry() -> None:
    # Steps of learning rate 0.1 on gradients [10, -0.5] with clip 5: limit 0.1 * 5 = 0.5.
    params = {name: np.zeros(2) for name in ("U", "W", "V", "b", "c")}
    steps = {name: np.array([1.0, -0.05]) for name in params}
    apply_steps(params, steps, limit=0.5)
    np.testing.assert_allclose(params["W"], [-0.5, 0.05])


def test_evaluate_callback_metrics_land_in_the_history() -> None:
    inputs, targets = small_problem()
    params = init_params(ALPHABET_SIZE, 8, ALPHABET_SIZE, seed=1)
    history = train(
        params, inputs, targets, epochs=2, schedule=Schedule(0.01), evaluate=lambda p: {"score": 1.5}
    )
    assert history[1].as_dict()["score"] == 1.5
