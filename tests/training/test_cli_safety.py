"""python -m training cannot destroy or lie: divergence writes nothing, --out is checked before
training, every bound names its flag, and Ctrl-C is one line."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from model.artifact import load, save
from model.rnn import init_params
from tests.training.test_cli import ROOT, SMALL_CORPUS, run_module
from tests.utils.artifacts import tiny_manifest

FAST = ["--hidden", "8", "--seq-length", "4", "--samples", "60", "--epochs", "3", "--no-progress"]
GOOD = tiny_manifest("good")


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    path = tmp_path / "corpus.txt"
    path.write_text(SMALL_CORPUS)
    return path


def train(corpus: Path, out: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_module("training", "--corpus", str(corpus), "--out", str(out), *FAST, *args)


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def hidden_entries(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.iterdir() if path.name.startswith("."))


@pytest.mark.parametrize("args", [["--lr", "1e30"], ["--lr", "1000", "--clip", "0"]])
def test_a_diverging_run_stops_at_once_and_keeps_the_old_artifact(
    corpus: Path, tmp_path: Path, args: list[str]
) -> None:
    out = save(tmp_path / "model", init_params(27, 6, 27, seed=1), GOOD)
    before = {path.name: path.read_bytes() for path in out.iterdir()}
    result = train(corpus, out, "--force", *args)
    line = one_error_line(result)
    assert line.startswith("error: epoch 1: the loss became ") and line.endswith(
        "; lower --lr or clip the gradients (--clip, --clip-norm)"
    )
    assert "epoch" not in result.stdout  # stopped in the first epoch, before any report
    assert {path.name: path.read_bytes() for path in out.iterdir()} == before
    assert hidden_entries(tmp_path) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--lr", "inf"], "--lr must be a finite number > 0"),
        (["--lr", "nan"], "--lr must be a finite number > 0"),
        (["--clip", "nan"], "--clip must be >= 0 and finite"),
        (["--clip", "inf"], "--clip must be >= 0 and finite"),
        (["--clip-norm", "nan"], "--clip-norm must be >= 0 and finite"),
        (["--lr-decay", "nan"], "--lr-decay must be in (0, 1]"),
        (["--dropout", "nan"], "--dropout must be in [0, 1)"),
        (["--context-dropout", "nan"], "--context-dropout must be in [0, 1)"),
        (["--hidden", "1000000"], "--hidden must be <= 4096"),
        (["--seq-length", "5000"], "--seq-length must be <= 4096"),
        (["--epochs", "1000000"], "--epochs must be <= 10000"),
        (["--batch-size", "1000000"], "--batch-size must be <= 65536"),
        (["--samples", "1000000000000"], "--samples must be <= 100000000"),
        (["--stride", "10000000"], "--stride must be <= 1000000"),
        (["--lr-segment", "1000000"], "--lr-segment must be <= 10000"),
        (["--patience", "1000000"], "--patience must be <= 10000"),
        (["--seed", "-1"], "--seed must be in 0..18446744073709551615"),
        (["--seed", str(2**64)], "--seed must be in 0..18446744073709551615"),
    ],
)
def test_each_bound_is_refused_up_front_naming_its_flag(
    corpus: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    result = train(corpus, tmp_path / "out", *args)
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1] == f"python -m training: error: {message}"
    assert not (tmp_path / "out").exists()


def test_weights_too_large_for_an_artifact_are_refused_before_training(corpus: Path, tmp_path: Path) -> None:
    line = one_error_line(train(corpus, tmp_path / "out", "--hidden", "4096", "--dtype", "float64"))
    assert line == (
        "error: --hidden 4096: the weights would take 136,020,184 bytes, over the 67,108,864 "
        "an artifact may hold"
    )


def test_out_on_a_regular_file_is_refused_and_the_file_kept(corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "notes.txt"
    out.write_text("my notes")
    line = one_error_line(train(corpus, out, "--force"))
    assert line == f"error: --out {out}: a file, not an artifact directory; refusing to replace it"
    assert out.read_text() == "my notes" and hidden_entries(tmp_path) == []


def test_out_on_a_directory_of_other_files_is_refused_even_with_force(corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "documents"
    out.mkdir()
    (out / "thesis.tex").write_text("chapter one")
    result = train(corpus, out, "--force")
    assert one_error_line(result) == (
        f"error: --out {out}: a directory that is not an artifact (no manifest.json and weights.npz); "
        "refusing to replace it"
    )
    assert result.stdout == ""  # refused before training
    assert [path.name for path in out.iterdir()] == ["thesis.tex"] and hidden_entries(tmp_path) == []


def test_out_on_the_root_directory_is_not_called_an_artifact(corpus: Path) -> None:
    line = one_error_line(train(corpus, Path("/")))
    assert line == (
        "error: --out /: a directory that is not an artifact (no manifest.json and weights.npz); "
        "refusing to replace it"
    )


def test_an_existing_artifact_needs_force_and_is_replaced_without_leftovers(
    corpus: Path, tmp_path: Path
) -> None:
    out = save(tmp_path / "model", init_params(27, 6, 27, seed=1), GOOD)
    line = one_error_line(train(corpus, out))
    assert line == f"error: --out {out}: an artifact already exists there; pass --force to replace it"
    result = train(corpus, out, "--force")
    assert result.returncode == 0, result.stderr
    assert load(out).manifest["n_hidden"] == 8
    assert hidden_entries(tmp_path) == []


def test_an_empty_directory_is_written_into(corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "empty"
    out.mkdir()
    assert train(corpus, out).returncode == 0
    assert load(out).manifest["n_hidden"] == 8 and hidden_entries(tmp_path) == []


def test_a_killed_runs_temporary_directory_is_removed_but_a_live_runs_is_kept(
    corpus: Path, tmp_path: Path
) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True)
    killed = tmp_path / f".model.tmp-{int(dead.stdout)}-abcd1234"
    live = tmp_path / f".model.tmp-{os.getpid()}-efgh5678"
    for leftover in (killed, live):
        leftover.mkdir()
        (leftover / "weights.npz").write_bytes(b"half written")
    assert train(corpus, tmp_path / "model").returncode == 0
    assert hidden_entries(tmp_path) == [live.name]


def test_more_samples_than_the_text_holds_are_capped_and_said(corpus: Path, tmp_path: Path) -> None:
    result = train(corpus, tmp_path / "out", "--samples", "100000")
    assert result.returncode == 0, result.stderr
    windows = load(tmp_path / "out").manifest["data"]["train"]
    count = windows["end"] - windows["start"]
    notes = [line for line in result.stderr.splitlines() if "--samples" in line]
    assert notes == [
        f"note: --samples 100000 is more than the training text holds; training on {count:,} windows"
    ]


def interrupt_after_first_epoch(corpus: Path, out: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "training", "--corpus", str(corpus), "--out", str(out), *args]
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # A shell's background job ignores SIGINT and its children inherit that; Ctrl-C reaches a
        # foreground run, so the child gets the default disposition back.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert process.stdout is not None
    first = process.stdout.readline()  # the first epoch's report
    time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    return subprocess.CompletedProcess(command, process.returncode, first + stdout, stderr)


def test_ctrl_c_is_one_line_and_status_130(corpus: Path, tmp_path: Path) -> None:
    args = ["--hidden", "64", "--seq-length", "8", "--samples", "1000", "--epochs", "1000", "--no-progress"]
    result = interrupt_after_first_epoch(corpus, tmp_path / "out", *args)
    assert result.stdout.startswith("epoch  1/1000")
    assert result.returncode == 130
    assert result.stderr == "interrupted: nothing written\n"
    assert list(tmp_path.iterdir()) == [tmp_path / "corpus.txt"]


def test_ctrl_c_of_a_language_model_says_that_resume_continues_it(corpus: Path, tmp_path: Path) -> None:
    args = ["--architecture", "lstm", "--hidden", "8", "--seq-length", "8", "--batch-size", "8"]
    result = interrupt_after_first_epoch(corpus, tmp_path / "out", *args, "--epochs", "1000", "--no-progress")
    assert result.returncode == 130
    assert result.stderr.startswith("interrupted: no artifact written; the checkpoint holds epoch ")
    assert result.stderr.endswith(": run the same command with --resume to continue\n")
    assert len(result.stderr.splitlines()) == 1
