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

from model.batching import (
    RowFunction,
    invariant_block,
    invariant_rows,
    model_block,
    model_probabilities,
    positions_agree,
    probability_rows,
)
from model.blas import THREAD_VARIABLES
from tests.utils.invariance import language_model

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


@pytest.mark.parametrize("name", ["rnn", "lstm-contexts"])
def test_the_chosen_block_holds_for_windows_it_never_probed(name: str) -> None:
    # The block is chosen on 4 fixed probes; every position must then agree for any window.
    model = language_model(name, np.float32)
    block = model_block(model)
    unseen = np.random.default_rng(7).integers(0, 27, (24, model.context))
    assert positions_agree(probability_rows(model), model.params, unseen, block)


def kernel_switch_at(rows: int) -> RowFunction:
    """A row function whose rows at positions >= `rows` round differently, as a BLAS kernel
    that handles a product's rows in groups would."""

    def fn(params: dict[str, Array], windows: Array) -> Array:
        result: Array = windows.astype(np.float64) + (np.arange(windows.shape[0]) >= rows)[:, None] * 1e-12
        return result

    return fn


@pytest.mark.parametrize(("rows", "expected"), [(4, 4), (2, 2), (8, 8), (16, 16), (1, 1), (3, 2)])
def test_the_largest_block_whose_positions_agree_is_chosen(rows: int, expected: int) -> None:
    probes = np.random.default_rng(0).integers(0, 27, (4, 5))
    assert invariant_block(kernel_switch_at(rows), {}, probes) == expected


def test_the_chosen_block_makes_rows_alone_and_in_a_batch_equal() -> None:
    fn = kernel_switch_at(4)
    windows = np.random.default_rng(1).integers(0, 27, (13, 5))
    block = invariant_block(fn, {}, windows[:4])
    together = invariant_rows(fn, {}, windows, block)
    alone = np.concatenate([invariant_rows(fn, {}, windows[i : i + 1], block) for i in range(13)])
    assert np.array_equal(together, alone)
    # One block larger and the rows at positions 4..7 come out differently.
    assert not np.array_equal(invariant_rows(fn, {}, windows, 8), alone)


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
