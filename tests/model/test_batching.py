"""Batch invariance: a window's row is the same bits alone and anywhere in any batch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

from model.batching import invariant_block, invariant_rows, model_block, model_probabilities, positions_agree
from model.rnn import init_params, next_char_probabilities
from tests.utils.invariance import language_model
from training.blas import THREAD_VARIABLES

Array = NDArray[Any]
WINDOWS = 3000
SHAPE_MESSAGE = r"windows: expected shape \(batch, seq_len\) with batch >= 1, got "


@pytest.mark.slow
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", ["rnn", "lstm", "lstm-contexts"])
def test_rows_alone_equal_rows_in_random_batches(name: str, dtype: str) -> None:
    # In a process with one BLAS thread, as `python -m service` runs: a two-threaded BLAS on
    # 8-row products is 30x slower whenever another process holds a core.
    env = {**os.environ, **{variable: "1" for variable in THREAD_VARIABLES}}
    completed = subprocess.run(
        [sys.executable, "-m", "tests.utils.invariance", name, dtype, str(WINDOWS)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    result = json.loads(completed.stdout)
    assert result["windows"] == WINDOWS
    assert result["batches"] > 10
    assert result["rows_differing"] == 0
    assert result["block"] > 1  # shared passes, not one window per call


@pytest.mark.parametrize("name", ["rnn", "lstm", "lstm-contexts"])
def test_every_architecture_answers_a_window_alike_alone_and_in_a_batch(name: str) -> None:
    model = language_model(name, np.float32)
    block = model_block(model)
    windows = np.random.default_rng(1).integers(0, 27, (37, 10))
    together = model_probabilities(model, windows, block)
    alone = np.concatenate([model_probabilities(model, windows[i : i + 1], block) for i in range(37)])
    assert np.array_equal(together, alone)
    # The same distribution as the model's own, up to float32 rounding of another batch shape.
    np.testing.assert_allclose(together, model.probabilities(windows), rtol=1e-5, atol=1e-7)
    assert block in (16, 8, 4, 2, 1)


def test_plain_batches_are_not_invariant_which_is_why_blocks_exist() -> None:
    params = init_params(27, 400, 27, seed=0, dtype=np.float32)
    windows = np.random.default_rng(0).integers(0, 27, (200, 10))
    together = next_char_probabilities(params, windows)
    alone = np.concatenate([next_char_probabilities(params, windows[i : i + 1]) for i in range(200)])
    assert not np.array_equal(together, alone)


def test_a_position_that_computes_differently_is_detected() -> None:
    def position_dependent(params: dict[str, Array], windows: Array) -> Array:
        result: Array = windows.astype(np.float64) + np.arange(windows.shape[0])[:, None] * 1e-12
        return result

    probes = np.arange(8).reshape(2, 4)
    assert not positions_agree(position_dependent, {}, probes, 4)
    assert invariant_block(position_dependent, {}, probes) == 1
    assert positions_agree(lambda params, windows: windows * 2, {}, probes, 4)


def test_blocks_keep_order_and_count() -> None:
    windows = np.arange(30).reshape(10, 3)
    result = invariant_rows(lambda params, w: w.sum(axis=1, keepdims=True), {}, windows, 4)
    np.testing.assert_array_equal(result[:, 0], windows.sum(axis=1))


@pytest.mark.parametrize(
    ("windows", "block", "message"),
    [
        (np.zeros((0, 3), int), 4, SHAPE_MESSAGE + r"\(0, 3\)"),
        (np.zeros(3, int), 4, SHAPE_MESSAGE + r"\(3,\)"),
        (np.zeros((2, 3), int), 0, "block: must be >= 1, got 0"),
    ],
)
def test_bad_arguments_are_named(windows: Array, block: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        invariant_rows(lambda params, w: w, {}, windows, block)
