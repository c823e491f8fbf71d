"""From corpus to artifact: read, window, train, measure, write atomically."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from model import artifact
from model.accuracy import Accuracy, count_correct, sentence
from model.alphabet import ALPHABET_SIZE
from model.rnn import Params, init_params
from model.version import package_version
from training import plot
from training.config import TrainingConfig
from training.data import default_corpus_path, encode_text, heldout_span, read_corpus, train_span, windows
from training.optim import OPTIMIZERS, Clipping
from training.train import EpochRecord, Schedule, train

PACKAGE_VERSION = package_version()


def code_version() -> str:
    """The package version and, when run from a git checkout, the commit."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            cwd=Path(__file__).resolve().parent,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return PACKAGE_VERSION
    return f"{PACKAGE_VERSION}+g{commit}"


def run(config: TrainingConfig, show_progress: bool = True) -> dict[str, Any]:
    """Train as configured and write the artifact; returns the manifest written."""
    if config.epochs < 1:
        raise ValueError("epochs: must be >= 1 (the recorded metrics are the last epoch's)")
    if config.out.exists() and not config.force:
        raise FileExistsError(f"{config.out}: an artifact already exists there; pass --force to replace it")
    if (config.out / plot.PLOT_FILE).exists() and not plot.available():
        raise FileExistsError(
            f"{config.out}: replacing it would delete its {plot.PLOT_FILE}, and matplotlib is not "
            "installed to draw a new one (pip install '.[plot]')"
        )
    text, corpus_sha256 = read_corpus(config.corpus or default_corpus_path())
    indices = encode_text(text)
    train_data = train_span(len(indices), config.seq_length, config.samples, config.stride)
    heldout_data = heldout_span(len(indices), config.seq_length)
    inputs, targets = windows(indices, train_data, config.seq_length)
    if inputs.shape[0] == 0:
        raise ValueError(f"the corpus is too short for one window of {config.seq_length} characters")
    params = init_params(
        ALPHABET_SIZE, config.hidden, ALPHABET_SIZE, seed=config.seed, dtype=np.dtype(config.dtype)
    )

    latest: dict[str, Accuracy] = {}  # the last epoch's measurement is also the final one

    def measure(current: Params) -> dict[str, float]:
        latest["train"] = count_correct(current, indices, train_data, config.seq_length)
        latest["heldout"] = count_correct(current, indices, heldout_data, config.seq_length)
        return {f"{split}_accuracy": accuracy.accuracy for split, accuracy in latest.items()}

    def report(record: EpochRecord) -> None:
        print(
            f"epoch {record.epoch:>2}/{config.epochs}  lr {record.learning_rate:.6g}  "
            f"loss {record.loss:.4f}  train {record.metrics['train_accuracy']:.1%}  "
            f"heldout {record.metrics['heldout_accuracy']:.1%}  {record.seconds:.1f}s",
            flush=True,
        )

    started = time.perf_counter()
    history = train(
        params,
        inputs,
        targets,
        epochs=config.epochs,
        schedule=Schedule(config.lr, config.lr_segment, config.lr_decay),
        batch_size=config.batch_size,
        seed=config.seed,
        optimizer=OPTIMIZERS[config.optimizer](),
        clipping=Clipping(value=config.clip or None, norm=config.clip_norm or None),
        evaluate=measure,
        on_epoch=report,
        show_progress=show_progress,
    )
    training_seconds = time.perf_counter() - started
    train_accuracy, heldout_accuracy = latest["train"], latest["heldout"]
    manifest = build_manifest(
        config, corpus_sha256, history, train_data.as_dict(), heldout_data.as_dict(), training_seconds
    )
    manifest["metrics"] = {"train": train_accuracy.as_dict(), "heldout": heldout_accuracy.as_dict()}
    manifest["sentence"] = sentence(train_accuracy, heldout_accuracy)
    artifact.save(config.out, params, manifest, force=config.force, extra_files=plot.writer(history))
    return manifest


def build_manifest(
    config: TrainingConfig,
    corpus_sha256: str,
    history: list[EpochRecord],
    train_data: dict[str, int],
    heldout_data: dict[str, int],
    training_seconds: float,
) -> dict[str, Any]:
    return {
        "name": config.out.name,
        "n_in": ALPHABET_SIZE,
        "n_hidden": config.hidden,
        "n_out": ALPHABET_SIZE,
        "seq_length": config.seq_length,
        "hyperparameters": config.hyperparameters(),
        "history": [record.as_dict() for record in history],
        "data": {"train": train_data, "heldout": heldout_data},
        "corpus_sha256": corpus_sha256,
        "training_seconds": round(training_seconds, 3),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "code_version": code_version(),
        "python": sys.version.split()[0],
        "numpy": np.__version__,
    }
