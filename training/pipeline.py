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
from model.accuracy import Accuracy, Positions, evaluate, sentence
from model.alphabet import ALPHABET_SIZE
from model.language_model import ARCHITECTURES, LanguageModel
from model.rnn import Params, init_params
from model.version import package_version
from training import baseline, plot
from training.config import TrainingConfig
from training.data import (
    default_corpus_path,
    encode_text,
    evaluation_splits,
    read_corpus,
    train_span,
    trained_positions,
    windows,
)
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
    inputs, targets = windows(indices, train_data, config.seq_length)
    if inputs.shape[0] == 0:
        raise ValueError(f"the corpus is too short for one window of {config.seq_length} characters")
    params = init_params(
        ALPHABET_SIZE, config.hidden, ALPHABET_SIZE, seed=config.seed, dtype=np.dtype(config.dtype)
    )
    splits = {"train": trained_positions(train_data, config.seq_length), **evaluation_splits(len(indices))}
    latest: dict[str, Accuracy] = {}  # the last epoch's measurement is also the final one

    def measure(current: Params) -> dict[str, float]:
        model = LanguageModel(ARCHITECTURES["rnn"], current, config.seq_length)
        for split in ("train", "test"):
            latest[split] = evaluate(model, indices, splits[split])
        return {f"{split}_accuracy": accuracy.accuracy for split, accuracy in latest.items()}

    def report(record: EpochRecord) -> None:
        print(
            f"epoch {record.epoch:>2}/{config.epochs}  lr {record.learning_rate:.6g}  "
            f"loss {record.loss:.4f}  train {record.metrics['train_accuracy']:.1%}  "
            f"test {record.metrics['test_accuracy']:.1%}  {record.seconds:.1f}s",
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
    model = LanguageModel(ARCHITECTURES["rnn"], params, config.seq_length)
    latest["validation"] = evaluate(model, indices, splits["validation"])
    reference = baseline.on_splits(text, evaluation_splits(len(indices)))
    manifest = build_manifest(config, corpus_sha256, history, splits, training_seconds)
    manifest["metrics"] = {split: latest[split].as_dict() for split in ("train", "validation", "test")}
    manifest["baseline"] = {
        "method": "backoff character n-gram, fitted on all the text before each split",
        "order": baseline.DEFAULT_ORDER,
        **{split: accuracy.as_dict() for split, accuracy in reference.items()},
    }
    manifest["sentence"] = sentence("RNN", config.seq_length, latest["test"], reference["test"])
    artifact.save(config.out, params, manifest, force=config.force, extra_files=plot.writer(history))
    return manifest


def build_manifest(
    config: TrainingConfig,
    corpus_sha256: str,
    history: list[EpochRecord],
    splits: dict[str, Positions],
    training_seconds: float,
) -> dict[str, Any]:
    return {
        "name": config.out.name,
        "architecture": "rnn",
        "n_in": ALPHABET_SIZE,
        "n_hidden": config.hidden,
        "n_out": ALPHABET_SIZE,
        "context": config.seq_length,
        "hyperparameters": config.hyperparameters(),
        "history": [record.as_dict() for record in history],
        "data": {split: positions.as_dict() for split, positions in splits.items()},
        "corpus_sha256": corpus_sha256,
        "training_seconds": round(training_seconds, 3),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "code_version": code_version(),
        "python": sys.version.split()[0],
        "numpy": np.__version__,
    }
