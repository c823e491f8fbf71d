"""The training loop on the RNN's windows and the learning-rate schedule, on small text made here."""

from __future__ import annotations

import numpy as np
import pytest

from model import blas, rnn
from model.alphabet import ALPHABET_SIZE, encode, simplify
from model.rnn import init_params, loss_and_grads
from training import windows
from training.data import Span
from training.data import windows as cut_windows
from training.fit import EpochRecord, Schedule
from training.optim import SGD, Adam, Clipping

TEXT = simplify("The cat sat on the mat. The dog sat on the log. " * 8)


def small_problem(seq_length: int = 5) -> tuple[np.ndarray, np.ndarray]:
    indices = encode(TEXT)
    return cut_windows(indices, Span(0, len(indices), 1), seq_length)


def test_schedule_halves_the_rate_for_each_five_epoch_segment() -> None:
    rates = [Schedule(0.001, 5, 0.5).rate(epoch) for epoch in range(1, 16)]
    assert rates == [0.001] * 5 + [0.0005] * 5 + [0.00025] * 5


@pytest.mark.parametrize("batch_size", [1, 16])
def test_training_lowers_the_loss(batch_size: int) -> None:
    inputs, targets = small_problem()
    params = init_params(ALPHABET_SIZE, 24, ALPHABET_SIZE, seed=0)
    before, _ = loss_and_grads(params, inputs, targets)
    history = windows.train(
        params, inputs, targets, epochs=4, schedule=Schedule(0.05, 2, 0.5), batch_size=batch_size
    )
    after, _ = loss_and_grads(params, inputs, targets)
    assert [record.epoch for record in history] == [1, 2, 3, 4]
    assert [record.learning_rate for record in history] == [0.05, 0.05, 0.025, 0.025]
    assert history[-1].loss < history[0].loss
    assert after < 0.6 * before


def test_adam_training_lowers_the_loss() -> None:
    inputs, targets = small_problem()
    params = init_params(ALPHABET_SIZE, 24, ALPHABET_SIZE, seed=0)
    before, _ = loss_and_grads(params, inputs, targets)
    windows.train(params, inputs, targets, epochs=2, schedule=Schedule(0.01), batch_size=16, optimizer=Adam())
    assert loss_and_grads(params, inputs, targets)[0] < 0.6 * before


def test_training_is_reproducible_with_a_seed() -> None:
    inputs, targets = small_problem()
    first, second = (
        init_params(ALPHABET_SIZE, 8, ALPHABET_SIZE, seed=1),
        init_params(ALPHABET_SIZE, 8, ALPHABET_SIZE, seed=1),
    )
    windows.train(first, inputs, targets, epochs=1, schedule=Schedule(0.01), seed=7)
    windows.train(second, inputs, targets, epochs=1, schedule=Schedule(0.01), seed=7)
    np.testing.assert_array_equal(first["W"], second["W"])


def test_evaluate_callback_metrics_land_in_the_history() -> None:
    inputs, targets = small_problem()
    params = init_params(ALPHABET_SIZE, 8, ALPHABET_SIZE, seed=1)
    history = windows.train(
        params, inputs, targets, epochs=2, schedule=Schedule(0.01), evaluate=lambda p: {"score": 1.5}
    )
    assert history[1].as_dict()["score"] == 1.5


def problem(windows: int, seed: int = 0) -> tuple[rnn.Params, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    params = rnn.init_params(27, 16, 27, seed=seed)
    params["b"] += 0.1
    return params, rng.integers(0, 27, (windows, 6)), rng.integers(0, 27, (windows, 6))


def plain_epoch(params: rnn.Params, inputs: np.ndarray, targets: np.ndarray, batch_size: int) -> float:
    """run_epoch's arithmetic spelled out: public loss_and_grads, clip, then p -= lr * g."""
    order = np.random.default_rng(5).permutation(inputs.shape[0])
    total = 0.0
    for first in range(0, order.size, batch_size):
        batch = order[first : first + batch_size]
        loss, grads = rnn.loss_and_grads(params, inputs[batch], targets[batch])
        for name in rnn.PARAM_NAMES:
            params[name] -= 0.05 * np.clip(grads[name], -5.0, 5.0)
        total += loss * batch.size
    return total / order.size


@pytest.mark.parametrize(("shards", "batch_size"), [(1, 1), (1, 64), (2, 64), (2, 100), (3, 96)])
def test_run_epoch_equals_loss_and_grads_then_clipped_sgd_step(
    monkeypatch: pytest.MonkeyPatch, shards: int, batch_size: int
) -> None:
    monkeypatch.setattr(windows, "shard_count", lambda size: shards)
    fast, inputs, targets = problem(300)
    plain = {name: value.copy() for name, value in fast.items()}
    rng = np.random.default_rng(5)
    fast_loss = windows.run_epoch(fast, inputs, targets, 0.05, batch_size, rng, SGD(), Clipping(value=5.0))
    plain_loss = plain_epoch(plain, inputs, targets, batch_size)
    assert fast_loss == pytest.approx(plain_loss, rel=1e-12)
    for name in rnn.PARAM_NAMES:
        np.testing.assert_allclose(fast[name], plain[name], rtol=1e-10, atol=1e-13)


def test_shards_follow_the_blas_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    for variable in blas.THREAD_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    assert [windows.shard_count(size) for size in (1, 32, 63, 64, 256)] == [1, 1, 1, 2, 2]
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "2")
    assert windows.shard_count(256) == 1


def test_a_diverging_run_stops_in_its_first_epoch() -> None:
    inputs, targets = small_problem()
    params = init_params(ALPHABET_SIZE, 24, ALPHABET_SIZE, seed=0)
    reports: list[EpochRecord] = []
    with pytest.raises(FloatingPointError, match=r"^epoch 1: the loss became (nan|inf); lower --lr or clip"):
        windows.train(
            params, inputs, targets, epochs=3, schedule=Schedule(1e30, 5, 0.5), on_epoch=reports.append
        )
    assert reports == []


class Overflowing(SGD):
    """SGD whose step sends one weight to infinity after the first minibatch's loss was taken."""

    def step(self, params: rnn.Params, grads: rnn.Params, learning_rate: float) -> None:
        super().step(params, grads, learning_rate)
        params["c"][0] = np.inf


def test_weights_that_become_infinite_stop_the_run_at_the_end_of_their_epoch() -> None:
    inputs, targets = small_problem()
    params = init_params(ALPHABET_SIZE, 24, ALPHABET_SIZE, seed=0)
    # One minibatch per epoch: its loss was finite, the weights after its step are not.
    with pytest.raises(FloatingPointError, match=r"^epoch 1: \['c'\] became NaN or infinite; lower --lr"):
        windows.train(
            params,
            inputs,
            targets,
            epochs=2,
            schedule=Schedule(0.01, 5, 0.5),
            batch_size=10_000,
            optimizer=Overflowing(),
        )
