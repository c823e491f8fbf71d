"""A recipe with a refit, end to end in process: the shipped weights are the refit's, both
phases are recorded and timed, no trained-on figure is recorded as held out, and a run killed
in either phase resumes to the same bytes."""

from __future__ import annotations

import contextlib
import io
import itertools
import types
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from model.accuracy import Positions, evaluate_split
from model.alphabet import encode
from model.artifact import Artifact, load
from tests.utils.tiny_training import CONFIG, SAMPLE
from training import checkpoint, chunks, fit, pipeline
from training.config import TrainingConfig
from training.data import evaluation_splits

TEXT = SAMPLE * 8
SPLITS = evaluation_splits(len(TEXT))  # validation 1232..1304, test 1304..1448


def config_in(directory: Path, text: str = TEXT, **changes: Any) -> TrainingConfig:
    corpus = directory / "corpus.txt"
    corpus.write_text(text)
    return replace(CONFIG, corpus=corpus, out=directory / "out", **changes)


def without_seconds(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{key: value for key, value in record.items() if key != "seconds"} for record in history]


@dataclass
class Finished:
    manifest: dict[str, Any]
    artifact: Artifact
    printed: list[str]


def finish(config: TrainingConfig) -> Finished:
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        manifest = pipeline.run(config, show_progress=False)
    return Finished(manifest, load(config.out), printed.getvalue().splitlines())


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Finished, Finished]]:
    """The recipe with and without its refit, on a clock on which every epoch takes one
    second of wall time and one of CPU time."""
    clock = types.SimpleNamespace(
        perf_counter=itertools.count().__next__, process_time=itertools.count().__next__
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(fit, "time", clock)
        refitted = finish(config_in(tmp_path_factory.mktemp("refit")))
        plain = finish(config_in(tmp_path_factory.mktemp("plain"), refit=False))
    yield refitted, plain


def test_the_refit_trains_as_many_epochs_as_phase_1_chose(runs: tuple[Finished, Finished]) -> None:
    manifest = runs[0].manifest
    assert (manifest["best_epoch"], len(manifest["history"])) == (3, 3)
    assert manifest["refit"]["epochs"] == manifest["best_epoch"]
    assert [record["epoch"] for record in manifest["refit"]["history"]] == [1, 2, 3]
    assert manifest["hyperparameters"]["refit"] is True


def test_the_training_time_is_both_phases(runs: tuple[Finished, Finished]) -> None:
    manifest, plain = runs[0].manifest, runs[1].manifest
    assert (manifest["refit"]["seconds"], manifest["refit"]["cpu_seconds"]) == (3.0, 3.0)
    assert (manifest["training_seconds"], manifest["training_cpu_seconds"]) == (6.0, 6.0)
    assert (plain["training_seconds"], plain["training_cpu_seconds"]) == (3.0, 3.0)


def test_data_states_the_text_each_model_trained_on(runs: tuple[Finished, Finished]) -> None:
    refitted, plain = runs[0].manifest, runs[1].manifest
    assert SPLITS == {"validation": Positions(1232, 1304), "test": Positions(1304, 1448)}
    assert refitted["refit"]["text"] == {"start": 0, "end": 1304}
    assert refitted["data"] == {
        "train": {"start": 1, "end": 1304},
        "validation": {"start": 1232, "end": 1304},
        "test": {"start": 1304, "end": 1448},
    }
    assert plain["data"]["train"] == {"start": 1, "end": 1232}


def test_the_shipped_weights_are_a_direct_run_on_all_text_before_test(
    runs: tuple[Finished, Finished], tmp_path: Path
) -> None:
    indices = encode(TEXT)
    probes = {split: (indices, positions) for split, positions in SPLITS.items()}
    direct_config = replace(CONFIG, epochs=3, patience=0)
    direct = chunks.train(direct_config, indices[:1304], probes, tmp_path / "direct")
    shipped = runs[0].artifact.params
    assert shipped.keys() == direct.params.keys()
    for name in shipped:
        assert shipped[name].tobytes() == direct.params[name].tobytes(), name


def test_only_held_out_figures_are_recorded_as_such(runs: tuple[Finished, Finished]) -> None:
    refitted, plain = runs
    indices = encode(TEXT)
    assert list(refitted.manifest["metrics"]) == ["test"]
    measured = evaluate_split(refitted.artifact.model, indices, SPLITS["test"]).as_dict()
    assert refitted.manifest["metrics"]["test"] == measured
    # The figure that chose the epoch: phase 1's best weights, which the run without a refit ships.
    assert list(plain.manifest["metrics"]) == ["validation", "test"]
    assert refitted.manifest["refit"]["validation_before_refit"] == plain.manifest["metrics"]["validation"]
    assert without_seconds(refitted.manifest["history"]) == without_seconds(plain.manifest["history"])
    assert refitted.manifest["baseline"] == plain.manifest["baseline"]
    record = refitted.manifest["refit"]["history"][0]
    assert sorted(record) == [
        "epoch",
        "loss",
        "seconds",
        "test_accuracy",
        "test_bits_per_char",
        "validation_trained_on_accuracy",
        "validation_trained_on_bits_per_char",
    ]


def test_each_epoch_prints_one_line_that_names_its_phase(runs: tuple[Finished, Finished]) -> None:
    printed = runs[0].printed
    assert [line.split("  loss")[0] for line in printed] == [
        "epoch  1/3",
        "epoch  2/3",
        "epoch  3/3",
        "refit epoch  1/3 on all text before test",
        "refit epoch  2/3 on all text before test",
        "refit epoch  3/3 on all text before test",
    ]
    assert all("% (trained on)  test " in line for line in printed[3:])
    assert not any("trained on" in line for line in printed[:3])


def test_the_checkpoints_go_once_the_artifact_is_written(runs: tuple[Finished, Finished]) -> None:
    out = runs[0].artifact.path
    assert sorted(path.name for path in out.parent.iterdir()) == ["corpus.txt", "out"]


def kill_after(monkeypatch: pytest.MonkeyPatch, where: Path, epoch: int) -> None:
    """Raise KeyboardInterrupt once, right after the checkpoint of `epoch` is written in `where`."""
    real_save = checkpoint.save
    killed: list[int] = []

    def save_then_die(directory: Path, config: TrainingConfig, run: fit.Run) -> None:
        real_save(directory, config, run)
        if directory == where and run.epoch == epoch and not killed:
            killed.append(epoch)
            raise KeyboardInterrupt

    monkeypatch.setattr(checkpoint, "save", save_then_die)


@pytest.mark.parametrize(
    ("phase", "epoch", "printed_on_resume"),
    [
        ("refit", 1, ["refit epoch  2/3", "refit epoch  3/3"]),
        ("refit", 3, []),
        ("phase 1", 3, ["refit epoch  1/3", "refit epoch  2/3", "refit epoch  3/3"]),
    ],
)
def test_a_run_killed_in_either_phase_resumes_to_the_same_bytes(
    runs: tuple[Finished, Finished],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    phase: str,
    epoch: int,
    printed_on_resume: list[str],
) -> None:
    config = config_in(tmp_path)
    path_for = checkpoint.refit_path_for if phase == "refit" else checkpoint.path_for
    kill_after(monkeypatch, path_for(config.out), epoch)
    with pytest.raises(KeyboardInterrupt), contextlib.redirect_stdout(io.StringIO()):
        pipeline.run(config, show_progress=False)
    assert not config.out.exists()
    resumed = finish(replace(config, resume=True))
    assert [line.split(" on all text")[0] for line in resumed.printed] == printed_on_resume
    whole = runs[0]
    for name, array in whole.artifact.params.items():
        assert resumed.artifact.params[name].tobytes() == array.tobytes(), name
    for key in ("metrics", "best_epoch", "baseline", "data"):
        assert resumed.manifest[key] == whole.manifest[key], key
    refit_records = resumed.manifest["refit"]["history"], whole.manifest["refit"]["history"]
    assert without_seconds(refit_records[0]) == without_seconds(refit_records[1])


def test_a_fresh_run_never_resumes_an_earlier_runs_refit(
    runs: tuple[Finished, Finished], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = config_in(tmp_path, text=SAMPLE[::-1] * 8)  # same settings, another corpus
    kill_after(monkeypatch, checkpoint.refit_path_for(other.out), 1)
    with pytest.raises(KeyboardInterrupt), contextlib.redirect_stdout(io.StringIO()):
        pipeline.run(other, show_progress=False)
    config = config_in(tmp_path)
    kill_after(monkeypatch, checkpoint.path_for(config.out), 1)
    with pytest.raises(KeyboardInterrupt), contextlib.redirect_stdout(io.StringIO()):
        pipeline.run(config, show_progress=False)
    resumed = finish(replace(config, resume=True))
    for name, array in runs[0].artifact.params.items():
        assert resumed.artifact.params[name].tobytes() == array.tobytes(), name
