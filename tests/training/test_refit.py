"""The refit: a fresh run of phase 1's best epoch count on all the text before the test split,
the same as a direct run of that many epochs, and resumed to the same bytes."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.utils.tiny_training import CONFIG, INDICES, PROBES
from training import chunks, refit
from training.fit import Run

PHASE_1_TEXT, ALL_BEFORE_TEST = INDICES[:500], INDICES[:700]  # PROBES: validation 500..700


def without_seconds(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{key: value for key, value in record.items() if key != "seconds"} for record in history]


def assert_same_params(first: Run, second: Run) -> None:
    assert first.params.keys() == second.params.keys()
    for name in first.params:
        assert first.params[name].tobytes() == second.params[name].tobytes(), name


def refit_run(directory: Path, epochs: int, resume: bool = False, stop_after: int | None = None) -> Run:
    def report(record: dict[str, Any]) -> None:
        if record["epoch"] == stop_after:
            raise KeyboardInterrupt  # as if killed right after the epoch's checkpoint

    probes = refit.probes_of(PROBES)
    return refit.train(CONFIG, epochs, ALL_BEFORE_TEST, probes, directory, resume=resume, report=report)


def test_the_refit_is_a_direct_run_of_the_best_epoch_count_on_all_text_before_test(tmp_path: Path) -> None:
    phase_1 = chunks.train(CONFIG, PHASE_1_TEXT, PROBES, tmp_path / "phase-1")
    assert (phase_1.epoch, phase_1.best_epoch) == (3, 3)
    refitted = refit_run(tmp_path / "refit", phase_1.best_epoch)
    direct_config = replace(CONFIG, epochs=phase_1.best_epoch, patience=0)
    direct = chunks.train(direct_config, ALL_BEFORE_TEST, PROBES, tmp_path / "direct")
    assert refitted.epoch == direct.epoch == 3
    assert_same_params(refitted, direct)
    renamed = [
        {key.replace("validation", refit.TRAINED_VALIDATION): value for key, value in record.items()}
        for record in direct.history
    ]
    assert without_seconds(refitted.history) == without_seconds(renamed)
    # The same seed, schedule and epochs on more text: other weights than phase 1's.
    assert refitted.params["W"].tobytes() != phase_1.params["W"].tobytes()


def test_a_refit_killed_midway_resumes_to_the_same_bytes(tmp_path: Path) -> None:
    whole = refit_run(tmp_path / "whole", 3)
    with pytest.raises(KeyboardInterrupt):
        refit_run(tmp_path / "killed", 3, stop_after=2)
    resumed = refit_run(tmp_path / "killed", 3, resume=True)
    assert resumed.epoch == 3
    assert_same_params(whole, resumed)
    assert without_seconds(whole.history) == without_seconds(resumed.history)


def test_a_refit_checkpoint_beyond_the_best_epoch_is_not_resumed(tmp_path: Path) -> None:
    refit_run(tmp_path / "run", 3)  # then a resumed phase 1 chose epoch 2
    resumed = refit_run(tmp_path / "run", 2, resume=True)
    fresh = refit_run(tmp_path / "fresh", 2)
    assert [record["epoch"] for record in resumed.history] == [1, 2]
    assert_same_params(resumed, fresh)


def test_the_refit_probes_name_validation_as_trained_on() -> None:
    probes = refit.probes_of(PROBES)
    assert list(probes) == ["test", "validation_trained_on"]
    assert probes["validation_trained_on"] is PROBES["validation"]
    assert probes["test"] is PROBES["test"]


def test_the_refit_line_names_the_phase_and_the_trained_on_validation() -> None:
    record = {
        "epoch": 3,
        "loss": 1.23456,
        "seconds": 12.34,
        "test_accuracy": 0.6901,
        "validation_trained_on_accuracy": 0.7012,
    }
    assert refit.line(record, 6, 4000) == (
        "refit epoch  3/6 on all text before test  loss 1.2346  validation 70.1% (trained on)  "
        "test 69.0%  (first 4,000 positions of each)  12.3s"
    )


def test_the_summary_records_the_refit_run() -> None:
    run = Run(params={}, optimizer=None, rng=np.random.default_rng(0))  # type: ignore[arg-type]
    run.epoch, run.history, run.seconds, run.cpu_seconds = 2, [{"epoch": 1}, {"epoch": 2}], 1.23456, 2.5
    assert refit.summary(run, 700) == {
        "epochs": 2,
        "text": {"start": 0, "end": 700},
        "history": [{"epoch": 1}, {"epoch": 2}],
        "seconds": 1.235,
        "cpu_seconds": 2.5,
    }
