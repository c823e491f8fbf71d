"""The language-model trainer: chunks, early stopping, and a resumed run that ends exactly
where an uninterrupted one does."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.utils.tiny_training import CONFIG, INDICES, PROBES
from training import checkpoint, chunks
from training.fit import Run


def test_chunks_are_consecutive_from_the_offset_with_targets_shifted() -> None:
    indices = np.arange(30)
    inputs, targets = chunks.chunks(indices, 4, offset=3)
    assert inputs.tolist()[:2] == [[3, 4, 5, 6], [7, 8, 9, 10]]
    assert inputs.shape == (6, 4)  # the last target, 27, stays inside the text
    np.testing.assert_array_equal(targets, inputs + 1)


def train(directory: Path, resume: bool = False, stop_after: int | None = None, **changes: Any) -> Run:
    def report(record: dict[str, Any]) -> None:
        if record["epoch"] == stop_after:
            raise KeyboardInterrupt  # as if killed right after the epoch's checkpoint

    config = replace(CONFIG, **changes)
    return chunks.train(config, INDICES[:500], PROBES, directory, resume=resume, report=report)


def test_a_resumed_run_ends_byte_identical_to_an_uninterrupted_one(tmp_path: Path) -> None:
    whole = train(tmp_path / "whole")
    with pytest.raises(KeyboardInterrupt):
        train(tmp_path / "killed", stop_after=2)
    resumed = train(tmp_path / "killed", resume=True)
    assert resumed.epoch == whole.epoch == 3
    for name in whole.params:
        assert whole.params[name].tobytes() == resumed.params[name].tobytes(), name
        assert whole.best_params[name].tobytes() == resumed.best_params[name].tobytes(), name
    strip = [{k: v for k, v in record.items() if k != "seconds"} for record in whole.history]
    assert strip == [{k: v for k, v in record.items() if k != "seconds"} for record in resumed.history]


def test_resume_refuses_a_checkpoint_of_other_settings(tmp_path: Path) -> None:
    train(tmp_path / "run", epochs=1)
    with pytest.raises(checkpoint.CheckpointError, match=r"other settings: \['hidden'\]"):
        train(tmp_path / "run", resume=True, hidden=9)
    with pytest.raises(checkpoint.CheckpointError, match="no checkpoint to resume"):
        train(tmp_path / "nothing", resume=True)


def test_training_stops_when_validation_stops_improving(tmp_path: Path) -> None:
    run = train(tmp_path / "run", epochs=30, patience=1, lr=0.0)  # lr 0: nothing ever improves
    assert (run.epoch, run.best_epoch) == (2, 1)
    assert [record["epoch"] for record in run.history] == [1, 2]


def test_the_best_epoch_is_kept_not_the_last(tmp_path: Path) -> None:
    run = train(tmp_path / "run", epochs=4)
    best = max(run.history, key=lambda record: record["validation_accuracy"])
    assert run.best_epoch == best["epoch"]
    assert run.best_validation == best["validation_accuracy"]


def test_a_diverging_run_stops_with_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(
        FloatingPointError, match="epoch 1: the loss became nan; lower --lr or set --clip-norm"
    ):
        train(tmp_path / "run", lr=float("inf"), clip_norm=0.0, optimizer="sgd", epochs=1)
