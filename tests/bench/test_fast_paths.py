"""The fast paths that the benchmarks measure give the plain paths' numbers: the trainer's
sharded minibatches, the scaled steps, the inference loop that keeps only h_T, and the
seed-style baseline loop in bench/."""

from __future__ import annotations

import os

import numpy as np
import pytest

from bench.plain_loop import plain_loss_and_grads
from model import rnn
from training import train


def problem(windows: int, seed: int = 0) -> tuple[rnn.Params, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    params = rnn.init_params(27, 16, 27, seed=seed)
    params["b"] += 0.1
    return params, rng.integers(0, 27, (windows, 6)), rng.integers(0, 27, (windows, 6))


def plain_epoch(params: rnn.Params, inputs: np.ndarray, targets: np.ndarray, batch_size: int) -> float:
    """run_epoch's arithmetic spelled out: public loss_and_grads, clip, then sgd_step."""
    order = np.random.default_rng(5).permutation(inputs.shape[0])
    total = 0.0
    for first in range(0, order.size, batch_size):
        batch = order[first : first + batch_size]
        loss, grads = rnn.loss_and_grads(params, inputs[batch], targets[batch])
        for name in rnn.PARAM_NAMES:
            np.clip(grads[name], -5.0, 5.0, out=grads[name])
        rnn.sgd_step(params, grads, 0.05)
        total += loss * batch.size
    return total / order.size


@pytest.mark.parametrize(("shards", "batch_size"), [(1, 1), (1, 64), (2, 64), (2, 100), (3, 96)])
def test_run_epoch_equals_loss_and_grads_then_clipped_sgd_step(
    monkeypatch: pytest.MonkeyPatch, shards: int, batch_size: int
) -> None:
    monkeypatch.setattr(train, "shard_count", lambda size: shards)
    fast, inputs, targets = problem(300)
    plain = {name: value.copy() for name, value in fast.items()}
    fast_loss = train.run_epoch(fast, inputs, targets, 0.05, batch_size, np.random.default_rng(5), clip=5.0)
    plain_loss = plain_epoch(plain, inputs, targets, batch_size)
    assert fast_loss == pytest.approx(plain_loss, rel=1e-12)
    for name in rnn.PARAM_NAMES:
        np.testing.assert_allclose(fast[name], plain[name], rtol=1e-10, atol=1e-13)


def test_shards_follow_the_blas_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "cpu_count", lambda: 2)  # the os module training.train reads
    for variable in train.BLAS_THREAD_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    assert [train.shard_count(size) for size in (1, 32, 63, 64, 256)] == [1, 1, 1, 2, 2]
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "2")
    assert train.shard_count(256) == 1


def test_scaled_grads_are_the_grads_times_the_scale() -> None:
    params, inputs, targets = problem(5)
    loss, grads = rnn.loss_and_grads(params, inputs, targets)
    scaled_loss, scaled = rnn.loss_and_scaled_grads(params, inputs, targets, 0.01, rnn.Workspace())
    assert scaled_loss == pytest.approx(loss, rel=1e-13)
    for name in rnn.PARAM_NAMES:
        np.testing.assert_allclose(scaled[name], 0.01 * grads[name], rtol=1e-12, atol=1e-16)


@pytest.mark.parametrize("batch", [1, 5, 40])
def test_next_char_probabilities_is_the_forward_pass_last_softmax(batch: int) -> None:
    params, inputs, _ = problem(batch, seed=3)
    expected = rnn.softmax(rnn.forward(params, inputs).z[-1])
    np.testing.assert_allclose(rnn.next_char_probabilities(params, inputs), expected, rtol=1e-12)
    np.testing.assert_array_equal(rnn.predict_next(params, inputs), expected.argmax(axis=1))


def test_the_plain_baseline_computes_the_same_gradients() -> None:
    params, inputs, targets = problem(1, seed=4)
    loss, grads = rnn.loss_and_grads(params, inputs, targets)
    plain_loss, plain_grads = plain_loss_and_grads(params, inputs[0], targets[0])
    assert plain_loss == pytest.approx(loss, rel=1e-12)
    for name in rnn.PARAM_NAMES:
        np.testing.assert_allclose(plain_grads[name], grads[name], rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize(("batch", "seq_len"), [(1, 6), (27, 6), (28, 1), (28, 2), (40, 6)])
def test_hidden_states_equal_the_recurrence_step_by_step(batch: int, seq_len: int) -> None:
    """Batches larger than X take W h_1 from a table of X rows: the same numbers."""
    params, inputs, _ = problem(batch, seed=6)
    inputs = inputs[:, :seq_len]
    U, W, b = params["U"], params["W"], params["b"]
    h = np.zeros((batch, W.shape[0]))
    for t in range(seq_len):
        h = np.maximum(U[:, inputs[:, t]].T + h @ W.T + b, 0)
    np.testing.assert_allclose(rnn.hidden_states(params, inputs)[-1], h, rtol=1e-12, atol=1e-14)
    expected = rnn.softmax(h @ params["V"].T + params["c"])
    np.testing.assert_allclose(rnn.next_char_probabilities(params, inputs), expected, rtol=1e-12)
