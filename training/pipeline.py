"""From corpus to artifact: read, train by the recipe, measure, write atomically.

The assignment's RNN trains on windows (training/train.py); a language model trains on the
whole training text in chunks (training/chunks.py). Both end the same way: every split
measured from the final weights by model.accuracy, the n-gram on the same positions, and one
manifest that records the whole resolved configuration.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from model import artifact, artifact_weights
from model.accuracy import Positions, evaluate, sentence
from model.alphabet import ALPHABET_SIZE
from model.language_model import ARCHITECTURES, LanguageModel
from model.rnn import init_params
from model.version import package_version
from training import baseline, checkpoint, chunks, plot
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


PROBE_POSITIONS = 4000  # positions of each split measured after every epoch of a language model


def run(config: TrainingConfig, show_progress: bool = True) -> dict[str, Any]:
    """Train as configured and write the artifact; returns the manifest written."""
    if config.epochs < 1:
        raise ValueError("epochs: must be >= 1 (the recorded metrics are the last epoch's)")
    check_out(config)
    if (config.out / plot.PLOT_FILE).exists() and not plot.available():
        raise FileExistsError(
            f"{config.out}: replacing it would delete its {plot.PLOT_FILE}, and matplotlib is not "
            "installed to draw a new one (pip install '.[plot]')"
        )
    text, corpus_sha256 = read_corpus(config.corpus or default_corpus_path())
    indices = encode_text(text)
    splits = evaluation_splits(len(indices))
    trainer = train_windows if config.architecture == "rnn" else train_chunks
    params, history, extra, seconds = trainer(config, indices, splits, show_progress)
    splits = {split: splits[split] for split in ("train", "validation", "test") if split in splits}
    model = LanguageModel(ARCHITECTURES[config.architecture], params, config.seq_length)
    began = time.perf_counter()
    metrics = {split: evaluate(model, indices, positions) for split, positions in splits.items()}
    reference = baseline.on_splits(text, {split: splits[split] for split in ("validation", "test")})
    manifest = build_manifest(config, corpus_sha256, history, splits, seconds)
    manifest |= extra
    manifest["evaluation_seconds"] = round(time.perf_counter() - began, 3)
    manifest["metrics"] = {split: accuracy.as_dict() for split, accuracy in metrics.items()}
    manifest["baseline"] = {
        "method": "backoff character n-gram, fitted on all the text before each split",
        "order": baseline.DEFAULT_ORDER,
        **{split: baseline.record(accuracy) for split, accuracy in reference.items()},
    }
    description = ARCHITECTURES[config.architecture].description
    manifest["sentence"] = sentence(description, config.seq_length, metrics["test"], reference["test"])
    artifact.save(config.out, params, manifest, force=config.force, extra_files=plot.writer(history))
    shutil.rmtree(checkpoint.path_for(config.out), ignore_errors=True)
    return manifest


def check_out(config: TrainingConfig) -> None:
    """Before any training: --out may be written, and the weights fit in an artifact. Leftover
    temporary directories of killed runs are removed (a live run's stay)."""
    try:
        artifact.check_target(config.out, config.force)
    except FileExistsError as error:
        raise FileExistsError(f"--out {error}") from None
    shapes = ARCHITECTURES[config.architecture].param_shapes(ALPHABET_SIZE, config.hidden, ALPHABET_SIZE)
    size = artifact_weights.weights_bytes(shapes, np.dtype(config.dtype))
    if size > artifact_weights.MAX_WEIGHTS_BYTES:
        raise ValueError(
            f"--hidden {config.hidden}: the weights would take {size:,} bytes, over the "
            f"{artifact_weights.MAX_WEIGHTS_BYTES:,} an artifact may hold"
        )
    if config.out.parent.is_dir():
        artifact.remove_stale_temporaries(config.out)


Trained = tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any], float]


def train_windows(
    config: TrainingConfig, indices: Any, splits: dict[str, Positions], show_progress: bool
) -> Trained:
    """The assignment's way: `samples` windows from the start of the text, shuffled each epoch."""
    train_data = train_span(len(indices), config.seq_length, config.samples, config.stride)
    inputs, targets = windows(indices, train_data, config.seq_length)
    if inputs.shape[0] == 0:
        raise ValueError(f"the corpus is too short for one window of {config.seq_length} characters")
    if inputs.shape[0] < config.samples:
        print(
            f"note: --samples {config.samples} is more than the training text holds; "
            f"training on {inputs.shape[0]:,} windows",
            file=sys.stderr,
        )
    params = init_params(
        ALPHABET_SIZE, config.hidden, ALPHABET_SIZE, seed=config.seed, dtype=np.dtype(config.dtype)
    )
    splits["train"] = trained_positions(train_data, config.seq_length)

    def measure(current: dict[str, Any]) -> dict[str, float]:
        model = LanguageModel(ARCHITECTURES["rnn"], current, config.seq_length)
        return {
            f"{split}_accuracy": evaluate(model, indices, splits[split]).accuracy
            for split in ("train", "test")
        }

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
    records = [record.as_dict() for record in history]
    return params, records, {}, time.perf_counter() - started


def train_chunks(
    config: TrainingConfig, indices: Any, splits: dict[str, Positions], show_progress: bool
) -> Trained:
    """A language model on all the text before validation; the best epoch on validation wins."""
    probes = {
        split: (indices, Positions(where.start, min(where.end, where.start + PROBE_POSITIONS)))
        for split, where in splits.items()
    }

    def report(record: dict[str, Any]) -> None:
        print(
            f"epoch {record['epoch']:>2}/{config.epochs}  loss {record['loss']:.4f}  "
            f"validation {record['validation_accuracy']:.1%}  test {record['test_accuracy']:.1%}  "
            f"(first {PROBE_POSITIONS:,} positions of each)  {record['seconds']:.1f}s",
            flush=True,
        )

    done = chunks.train(
        config,
        indices[: splits["validation"].start],
        probes,
        checkpoint.path_for(config.out),
        resume=config.resume,
        progress=show_progress,
        report=report,
    )
    extra = {
        "best_epoch": done.best_epoch,
        "probe_positions": PROBE_POSITIONS,
        "training_cpu_seconds": round(done.cpu_seconds, 3),
    }
    return done.best_params, done.history, extra, done.seconds


def build_manifest(
    config: TrainingConfig,
    corpus_sha256: str,
    history: list[dict[str, Any]],
    splits: dict[str, Positions],
    training_seconds: float,
) -> dict[str, Any]:
    return {
        "name": config.out.name,
        "recipe": config.recipe,
        "architecture": config.architecture,
        "n_in": ALPHABET_SIZE,
        "n_hidden": config.hidden,
        "n_out": ALPHABET_SIZE,
        "context": config.seq_length,
        "hyperparameters": config.hyperparameters(),
        "history": history,
        "data": {split: positions.as_dict() for split, positions in splits.items()},
        "corpus_sha256": corpus_sha256,
        "training_seconds": round(training_seconds, 3),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "code_version": code_version(),
        "python": sys.version.split()[0],
        "numpy": np.__version__,
    }
