"""python -m training and python -m training.evaluate, end to end on a small corpus made here."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from model.accuracy import Positions, evaluate
from model.alphabet import ALPHABET_SIZE, encode
from model.artifact import load
from tests.utils.tiny_training import CONFIG
from training import baseline, checkpoint, chunks, kneser_ney
from training.cli import flag, interrupted, parse_config
from training.config import TrainingConfig, resolve
from training.data import read_corpus

ROOT = Path(__file__).resolve().parents[2]
SMALL_CORPUS = "The Origin of Species, by Charles Darwin. " * 40 + "Natural selection acts slowly. " * 20
TRAIN_ARGS = ["--hidden", "16", "--seq-length", "6", "--samples", "300", "--epochs", "3", "--lr", "0.01"]


def run_module(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("corpus") / "small.txt"
    path.write_text(SMALL_CORPUS)
    return path


@pytest.fixture(scope="module")
def trained(
    corpus: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, subprocess.CompletedProcess[str]]:
    out = tmp_path_factory.mktemp("artifacts") / "small"
    result = run_module("training", "--corpus", str(corpus), "--out", str(out), "--progress", *TRAIN_ARGS)
    return out, result


def test_cli_writes_a_loadable_artifact_with_one_line_per_epoch(
    trained: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    out, result = trained
    assert result.returncode == 0, result.stderr
    epoch_lines = [line for line in result.stdout.splitlines() if line.startswith("epoch")]
    assert len(epoch_lines) == 3
    assert "train" in epoch_lines[0] and "test" in epoch_lines[0] and "loss" in epoch_lines[0]
    assert "loss" in result.stderr and "window/s" in result.stderr  # the bar: running loss and rate
    manifest = load(out).manifest
    assert manifest["hyperparameters"]["epochs"] == 3
    assert [entry["epoch"] for entry in manifest["history"]] == [1, 2, 3]
    assert manifest["history"][-1]["loss"] < manifest["history"][0]["loss"]
    for key in ("corpus_sha256", "training_seconds", "created_at", "code_version", "weights_sha256"):
        assert key in manifest


def test_recorded_metrics_are_recomputed_from_the_weights(
    trained: tuple[Path, subprocess.CompletedProcess[str]], corpus: Path
) -> None:
    artifact = load(trained[0])
    text, digest = read_corpus(corpus)
    assert artifact.manifest["corpus_sha256"] == digest
    indices = encode(text)
    for split in ("train", "validation", "test"):
        positions = Positions.from_dict(artifact.manifest["data"][split])
        measured = evaluate(artifact.model, indices, positions).as_dict()
        recorded = artifact.manifest["metrics"][split]
        assert (recorded["accuracy"], recorded["samples"]) == (measured["accuracy"], measured["samples"])
        assert recorded["bits_per_char"] == pytest.approx(measured["bits_per_char"], rel=1e-9)
    assert artifact.manifest["metrics"]["train"]["samples"] == 300


def test_evaluate_prints_each_split_beside_the_n_gram(
    trained: tuple[Path, subprocess.CompletedProcess[str]], corpus: Path
) -> None:
    result = run_module("training.evaluate", "--artifact", str(trained[0]), "--corpus", str(corpus))
    assert result.returncode == 0, result.stderr
    artifact = load(trained[0])
    text = read_corpus(corpus)[0]
    expected = []
    for split in ("train", "validation", "test"):
        positions = Positions.from_dict(artifact.manifest["data"][split])
        measured = evaluate(artifact.model, encode(text), positions)
        line = (
            f"small {split}: accuracy {measured.accuracy:.4f}, "
            f"{measured.bits_per_char:.3f} bits/char on {measured.total:,} positions"
        )
        if split != "train":
            ngram = baseline.evaluate(baseline.fit(text[: positions.start]), text, positions)
            kn = kneser_ney.evaluate(
                kneser_ney.fit(encode(text[: positions.start]), 10), encode(text), positions
            )
            line += (
                f"; order-10 n-gram {ngram.accuracy:.4f} on the same positions; Kneser-Ney order-10 "
                f"{kn.accuracy:.4f}, {kn.bits_per_char:.3f} bits/char"
            )
        expected.append(line)
    assert result.stdout.splitlines() == expected


def test_existing_artifact_needs_force(
    trained: tuple[Path, subprocess.CompletedProcess[str]], corpus: Path
) -> None:
    before = (trained[0] / "weights.npz").read_bytes()
    result = run_module("training", "--corpus", str(corpus), "--out", str(trained[0]), *TRAIN_ARGS)
    assert result.returncode == 2
    assert "pass --force to replace it" in result.stderr
    assert (trained[0] / "weights.npz").read_bytes() == before


def test_missing_corpus_is_a_clear_error(tmp_path: Path) -> None:
    result = run_module(
        "training",
        "--out",
        str(tmp_path / "out"),
        *TRAIN_ARGS,
        env={"CHAR_RNN_CORPUS": str(tmp_path / "none.txt")},
    )
    assert result.returncode == 2
    assert "corpus not found at" in result.stderr and "Project Gutenberg eBook #1228" in result.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("flag", "value"), [("--epochs", "0"), ("--lr", "-1"), ("--batch-size", "0")])
def test_bad_flags_are_refused_by_name(flag: str, value: str, corpus: Path, tmp_path: Path) -> None:
    result = run_module("training", "--corpus", str(corpus), "--out", str(tmp_path / "x"), flag, value)
    assert result.returncode == 2
    assert flag in result.stderr


def test_progress_bars_are_quiet_when_stderr_is_no_terminal(corpus: Path, tmp_path: Path) -> None:
    result = run_module("training", "--corpus", str(corpus), "--out", str(tmp_path / "out"), *TRAIN_ARGS)
    assert result.returncode == 0, result.stderr
    assert "window/s" not in result.stderr and "loss" not in result.stderr
    assert len([line for line in result.stdout.splitlines() if line.startswith("epoch")]) == 3


def test_help_shows_every_default_of_the_config() -> None:
    result = run_module("training", "--help")
    assert result.returncode == 0
    help_text = " ".join(result.stdout.split())
    for item in dataclasses.fields(TrainingConfig):
        assert f"{flag(item.name)} " in help_text, item.name
        assert f"(default: {item.metadata['shown']}" in help_text, item.name
    assert "(default: 400; darwin-lstm: 384)" in help_text
    assert "(default: $CHAR_RNN_CORPUS if set, else data/" in help_text


def test_parsed_flags_fill_the_config_and_bad_values_are_refused_by_flag(
    capsys: pytest.CaptureFixture[str],
) -> None:
    config, progress = parse_config(
        ["--hidden", "8", "--clip-norm", "1.5", "--optimizer", "adam", "--progress"]
    )
    assert config == TrainingConfig(hidden=8, clip_norm=1.5, optimizer="adam")
    assert progress is True
    with pytest.raises(SystemExit):
        parse_config(["--clip-norm", "-1"])
    assert "--clip-norm must be >= 0" in capsys.readouterr().err


def test_a_switch_that_a_recipe_turns_on_is_turned_off_by_its_no_flag() -> None:
    assert resolve("darwin-lstm", {}).carry is True
    assert parse_config(["--recipe", "darwin-lstm", "--no-carry"])[0].carry is False
    assert parse_config(["--architecture", "lstm", "--refit"])[0].refit is True
    assert parse_config([])[0].refit is False
    assert parse_config([])[0].carry is False


@pytest.mark.parametrize("switch", ["carry", "refit"])
def test_a_language_models_switch_on_the_window_rnn_is_refused_by_flag(
    switch: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        parse_config(["--recipe", "darwin-lstm", "--architecture", "rnn", "--no-carry", f"--{switch}"])
    assert (
        f"--{switch} needs a language model (--architecture lstm or lstm-contexts)" in capsys.readouterr().err
    )
    config = parse_config(["--recipe", "darwin-lstm", "--architecture", "rnn", "--no-carry"])[0]
    assert (config.carry, config.refit) == (False, False)


def test_ctrl_c_names_the_epochs_each_checkpoint_holds(tmp_path: Path) -> None:
    config = replace(CONFIG, out=tmp_path / "out")
    assert interrupted(config) == "interrupted: nothing written"
    run = chunks.start(config, ALPHABET_SIZE)
    run.epoch = 3
    checkpoint.save(checkpoint.path_for(config.out), config, run)
    resume = ": run the same command with --resume to continue"
    assert interrupted(config) == f"interrupted: no artifact written; the checkpoint holds epoch 3{resume}"
    run.epoch = 2
    checkpoint.save(checkpoint.refit_path_for(config.out), config, run)
    assert interrupted(config) == (
        f"interrupted: no artifact written; the checkpoint holds epoch 3 and the refit's epoch 2{resume}"
    )
