"""training.pipeline.run in process: reproducible weights, and what it refuses to overwrite."""

from __future__ import annotations

from pathlib import Path

import pytest

from model.artifact import load, save
from model.rnn import PARAM_NAMES, init_params
from training import pipeline, plot, windows
from training.config import TrainingConfig

TEXT = "The Origin of Species, by Charles Darwin. " * 30 + "Natural selection acts slowly. " * 15


def small_config(tmp_path: Path, out: str, **changes: object) -> TrainingConfig:
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(TEXT)
    values: dict[str, object] = {"hidden": 12, "seq_length": 6, "samples": 200, "epochs": 2, "lr": 0.01}
    return TrainingConfig(corpus=corpus, out=tmp_path / out, **{**values, **changes})  # type: ignore[arg-type]


@pytest.mark.parametrize(("batch_size", "shards"), [(1, 1), (64, 2)])
def test_the_same_seed_gives_byte_identical_weights(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, batch_size: int, shards: int
) -> None:
    monkeypatch.setattr(windows, "shard_count", lambda size: shards)
    for name, seed in (("first", 3), ("second", 3), ("other", 4)):
        pipeline.run(small_config(tmp_path, name, batch_size=batch_size, seed=seed), show_progress=False)
    first, second, other = (load(tmp_path / name).params for name in ("first", "second", "other"))
    for name in PARAM_NAMES:
        assert first[name].tobytes() == second[name].tobytes(), name
    assert first["W"].tobytes() != other["W"].tobytes()


def test_force_without_matplotlib_keeps_the_plot_and_the_artifact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifest = {
        "architecture": "rnn",
        "n_hidden": 6,
        "context": 6,
        "hyperparameters": {"seq_length": 6, "dtype": "float64"},
        "metrics": {},
    }
    out = save(tmp_path / "shipped", init_params(27, 6, 27), manifest)
    (out / plot.PLOT_FILE).write_bytes(b"committed plot")
    monkeypatch.setattr(plot, "available", lambda: False)
    with pytest.raises(FileExistsError, match=r"would delete its training\.png, and matplotlib is not"):
        pipeline.run(small_config(tmp_path, "shipped", force=True), show_progress=False)
    assert (out / plot.PLOT_FILE).read_bytes() == b"committed plot"


def test_the_default_output_is_a_run_directory_that_git_ignores() -> None:
    assert TrainingConfig().out.parts[0] == "runs"
    ignored = (Path(__file__).resolve().parents[2] / ".gitignore").read_text().splitlines()
    assert "/runs/" in ignored
