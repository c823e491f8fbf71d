"""Regression pins: tiny runs of every way of training give the same weights, bit for bit, and
the same manifest (key for key, in the same order) as the two training loops that one fit()
replaced.

The expected digests were computed with the code before that refactor (commit 16bc041, where
training/train.py and training/chunks.py each had their own loop): this file, added to that
checkout, printed them with `python -m tests.training.test_same_numbers`. The runs take place
in a subprocess with OPENBLAS_CORETYPE=Haswell, as the Makefile sets it: other OpenBLAS kernels
round otherwise, and give other bits.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from model.alphabet import simplify
from model.artifact import load
from model.blas import THREAD_VARIABLES
from tests.utils.server import REPO_ROOT
from training import pipeline
from training.config import TrainingConfig, resolve

TEXT = (
    simplify(
        "When we look to the individuals of the same variety or sub-variety of our older cultivated "
        "plants and animals, one of the first points which strikes us is that they generally differ "
        "more from each other than do the individuals of any one species or variety in a state of "
        "nature. The cat sat on the mat; the dog sat on the log. "
    )
    * 7
)

# Each run: a recipe in small, with a seed other than the default.
RUNS: dict[str, TrainingConfig] = {
    # The assignment's recipe: per-sample SGD, clipped to +-5, the rate halved every 2 epochs.
    "rnn batch 1": resolve(
        "assignment",
        {"hidden": 12, "seq_length": 6, "samples": 300, "epochs": 3, "lr": 0.02, "lr_segment": 2},
    ),
    # Minibatches of the RNN split across 2 threads (shard_count is fixed at 2 below), Adam,
    # both clippings, float64.
    "rnn batch 64 sharded": resolve(
        "assignment",
        {
            "hidden": 10,
            "seq_length": 5,
            "samples": 400,
            "epochs": 3,
            "batch_size": 64,
            "optimizer": "adam",
            "lr": 0.01,
            "clip_norm": 1.0,
            "dtype": "float64",
        },
    ),
    # An LSTM on shuffled chunks, each read from the zero state, with dropout and patience.
    "lstm chunks": resolve(
        "darwin-lstm",
        {
            "architecture": "lstm",
            "carry": False,
            "reset": 0.0,
            "hidden": 8,
            "seq_length": 10,
            "batch_size": 16,
            "epochs": 3,
            "patience": 2,
        },
    ),
    # The darwin-lstm recipe: contexts, carried streams with resets, dropouts, then a refit.
    "darwin-lstm carried with refit": resolve(
        "darwin-lstm",
        {"hidden": 8, "seq_length": 12, "batch_size": 8, "epochs": 3, "patience": 0, "refit": True},
    ),
}

# name -> (sha256 of the shipped weights, sha256 of the manifest with its clock readings blanked)
EXPECTED = {
    "rnn batch 1": (
        "87972bbe91d7cfee3777e0a30ad6df67a25e230bc04a0dfbe2020d0c017d59e5",
        "d4279decb9230c16390f5481ffc918dec6fb99ac09e2b2d360f2e055f94b562d",
    ),
    "rnn batch 64 sharded": (
        "6e8553c10954fe3d33e10f726fd126d05a7d2c5b17bfc66abe3e9e199f6ce5cd",
        "f5aac735a4f9dd388a67de8609b847b238d454ea08a79d78848989be696c2439",
    ),
    "lstm chunks": (
        "18aa5a6a36e0abf087445c42e899b5150ce06e0c61ec4b154e3b7674202895df",
        "be24b34173bb6368b9c1dec9dbdc4e98842cc5d8f40b950a5b6add6c61b03b3a",
    ),
    "darwin-lstm carried with refit": (
        "6c0de52a7b8b52007121ee1a5f4e9e8acce477d869d05a0d72e0db008fa8b8a3",
        "6f3bf13a494aec8db319f115ed98a4e40fb971940d4a7867af97b7532677b75a",
    ),
}

# What the clock, the machine or the checkout decide: blanked before the manifest's digest.
VOLATILE = {
    "seconds",
    "cpu_seconds",
    "training_seconds",
    "training_cpu_seconds",
    "evaluation_seconds",
    "created_at",
    "code_version",
    "python",
    "numpy",
    "manifest_sha256",
}


def weights_digest(params: dict[str, np.ndarray]) -> str:
    digest = hashlib.sha256()
    for name in sorted(params):
        array = params[name]
        digest.update(f"{name} {array.dtype.str} {array.shape}\n".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def blanked(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: "-" if key in VOLATILE else blanked(item) for key, item in value.items()}
    if isinstance(value, list):
        return [blanked(item) for item in value]
    return value


def manifest_digest(path: Path) -> str:
    manifest = json.loads(path.read_text(encoding="utf-8"))  # in the order it was written
    return hashlib.sha256(json.dumps(blanked(manifest)).encode()).hexdigest()


def digests(name: str, directory: Path) -> tuple[str, str]:
    """(weights, manifest) digests of the run `name`, trained by the pipeline into `directory`."""
    from training import windows  # the module that decides the RNN's shards

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(windows, "shard_count", lambda size: 2)
        directory.mkdir(parents=True, exist_ok=True)
        corpus = directory / "corpus.txt"
        corpus.write_text(TEXT, encoding="utf-8")
        config = replace(RUNS[name], corpus=corpus, out=directory / "out", seed=3)
        with contextlib.redirect_stdout(io.StringIO()):
            pipeline.run(config, show_progress=False)
    return weights_digest(load(config.out).params), manifest_digest(config.out / "manifest.json")


def main() -> None:
    """Every run's digests, as one JSON line: {name: [weights, manifest]}."""
    with tempfile.TemporaryDirectory() as tmp:
        found = {name: digests(name, Path(tmp) / str(number)) for number, name in enumerate(RUNS)}
    print(json.dumps(found))


@pytest.fixture(scope="module")
def computed() -> dict[str, list[str]]:
    """The digests from a fresh process with the Makefile's OpenBLAS kernels, single-threaded."""
    env = {**os.environ, "OPENBLAS_CORETYPE": "Haswell"} | {name: "1" for name in THREAD_VARIABLES}
    completed = subprocess.run(
        [sys.executable, "-m", "tests.training.test_same_numbers"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    result: dict[str, list[str]] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.parametrize("name", list(RUNS))
def test_a_run_gives_the_weights_and_manifest_it_gave_before_the_refactor(
    name: str, computed: dict[str, list[str]]
) -> None:
    weights, manifest = computed[name]
    assert weights == EXPECTED[name][0], "other weights"
    assert manifest == EXPECTED[name][1], "another manifest"


if __name__ == "__main__":
    main()
