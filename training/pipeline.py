"""From corpus to artifact: read, train by the recipe, measure, write atomically.

The assignment's RNN trains on windows; a language model trains on the whole training text in
chunks, then, with a refit, afresh on all the text before the test split (training/trainers.py).
Both end the same way: the shipped weights measured by model.accuracy on each split they did
not train on (the RNN's also on its training windows, as "train"), the n-gram on the same
positions, and one manifest that records the whole resolved configuration and the positions
trained on ("data": "train").
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
from model.accuracy import Positions, evaluate_split, sentence
from model.alphabet import ALPHABET_SIZE
from model.language_model import ARCHITECTURES, LanguageModel
from model.version import package_version
from training import adaptive, baseline, checkpoint, plot
from training.config import TrainingConfig
from training.data import default_corpus_path, encode_text, evaluation_splits, read_corpus
from training.trainers import Trained, train_chunks, train_windows

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
    trained = trainer(config, indices, splits, show_progress)
    data = {"train": trained.trained_on, **splits}
    manifest = build_manifest(config, corpus_sha256, trained.history, data, trained.seconds)
    if trained.fields is not None:
        manifest |= trained.fields
    began = time.perf_counter()
    manifest |= measurements(config, text, indices, data, trained)
    manifest["evaluation_seconds"] = round(time.perf_counter() - began, 3)
    refitted = trained.refit_section
    drawing = plot.writer(trained.history, None if refitted is None else refitted["history"])
    artifact.save(config.out, trained.params, manifest, force=config.force, extra_files=drawing)
    checkpoint.remove(checkpoint.path_for(config.out))
    checkpoint.remove(checkpoint.refit_path_for(config.out))
    return manifest


def measurements(
    config: TrainingConfig, text: str, indices: Any, data: dict[str, Positions], trained: Trained
) -> dict[str, Any]:
    """metrics (the shipped weights on the splits of trained.measured), both n-grams on the same
    positions, and the sentence that reads them. With a refit, the chosen model's validation
    figure goes in the refit section: it is no figure of the shipped weights."""
    network = ARCHITECTURES[config.architecture]
    model = LanguageModel(network, trained.params, config.context)
    metrics = {split: evaluate_split(model, indices, data[split]) for split in trained.measured}
    reference = baseline.bars(text, {split: data[split] for split in ("validation", "test")})
    measured: dict[str, Any] = {
        "metrics": {split: accuracy.as_dict() for split, accuracy in metrics.items()},
        "baseline": reference.section(),
        "sentence": sentence(network.description, config.context, metrics["test"], reference.backoff["test"]),
    }
    if model.reads_text:
        measured["adaptive"] = adaptive.section(model, indices, data, list(trained.measured))
    refitted = trained.refit_section
    if trained.chosen is not None and refitted is not None:
        chosen = LanguageModel(network, trained.chosen, config.context)
        validation = evaluate_split(chosen, indices, data["validation"]).as_dict()
        measured["refit"] = {**refitted, "validation_before_refit": validation}
    return measured


def check_out(config: TrainingConfig) -> None:
    """Before any training: --out may be written, the weights fit in an artifact and the disk
    has room for them. An artifact that a killed save() left aside is put back, and leftover
    temporary directories of killed runs are removed (a live run's stay)."""
    artifact.recover_interrupted_save(config.out)
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
        check_free_space(config.out, size)


# A run writes its checkpoint (parameters, best parameters and two optimiser moments: 4 copies)
# beside the previous one, a refit's as well, then the artifact: 10 copies bound them all.
SPACE_FACTOR = 10


def check_free_space(out: Path, weights_bytes: int) -> None:
    """OSError naming --out's directory if it has less room than a run's files need, said
    before training rather than at the first checkpoint."""
    free = shutil.disk_usage(out.parent).free
    needed = SPACE_FACTOR * weights_bytes
    if free < needed:
        raise OSError(
            f"--out {out}: {free:,} bytes free on its disk, a run needs about {needed:,} "
            f"({SPACE_FACTOR} copies of its weights: checkpoints and the artifact)",
        )


def build_manifest(
    config: TrainingConfig,
    corpus_sha256: str,
    history: list[dict[str, Any]],
    data: dict[str, Positions],
    training_seconds: float,
) -> dict[str, Any]:
    return {
        "name": config.out.name,
        "recipe": config.recipe,
        "architecture": config.architecture,
        "n_in": ALPHABET_SIZE,
        "n_hidden": config.hidden,
        "n_out": ALPHABET_SIZE,
        "context": config.context,
        "hyperparameters": config.hyperparameters(),
        "history": history,
        "data": {split: positions.as_dict() for split, positions in data.items()},
        "corpus_sha256": corpus_sha256,
        "training_seconds": round(training_seconds, 3),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "code_version": code_version(),
        "python": sys.version.split()[0],
        "numpy": np.__version__,
    }
