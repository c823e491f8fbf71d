"""Phase 2 of a language model's training: the refit.

Phase 1 (training/chunks.py) trains on the text before the validation split and chooses its
best epoch E on validation. The refit then trains a fresh model, from the same seed and with
the same learning rate for each epoch number, on all the text before the test split for
exactly E epochs, and that model is shipped: it has read the validation text too, as the
n-gram it is compared with has. Its validation probe is recorded under a name that says it
was trained on; the test probe is only recorded, as in phase 1.

A refit's checkpoint after epoch k is the same whatever E is, as long as k <= E (the refit's
epochs depend on the settings and the text, not on E), so --resume continues it even when a
resumed phase 1 ended with another best epoch, and starts afresh only when k > E.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypedDict

from model.alphabet import ALPHABET_SIZE
from training import checkpoint, chunks
from training.chunks import Probes
from training.config import TrainingConfig
from training.fit import Indices, Run, fit

TRAINED_VALIDATION = "validation_trained_on"  # the refit's validation probe: no held-out figure
TEXT = "all text before test"


class Text(TypedDict):
    start: int
    end: int


class RefitSection(TypedDict):
    """The manifest's "refit" section as training writes it; the pipeline adds the chosen
    model's validation figure ("validation_before_refit")."""

    epochs: int
    text: Text
    history: list[dict[str, Any]]
    seconds: float
    cpu_seconds: float


def probes_of(probes: Probes) -> Probes:
    """Phase 1's probes under the refit's names: validation is trained on from here."""
    return {"test": probes["test"], TRAINED_VALIDATION: probes["validation"]}


def resumed(directory: Path, config: TrainingConfig, epochs: int) -> Run | None:
    """The refit's checkpoint, if it holds at most `epochs` epochs; None to start afresh."""
    saved = checkpoint.saved_epoch(directory)
    if saved is None or saved > epochs:
        return None
    return checkpoint.load(directory, config)


def train(
    config: TrainingConfig,
    epochs: int,
    text: Indices,
    probes: Probes,
    checkpoint_dir: Path,
    resume: bool = False,
    progress: bool = False,
    report: Callable[[dict[str, Any]], None] = print,
) -> Run:
    """A fresh run of exactly `epochs` epochs on `text`, with no early stopping; its final
    parameters are run.params. `probes` are measured after each epoch (see probes_of)."""
    run = resumed(checkpoint_dir, config, epochs) if resume else None
    if run is None:
        run = chunks.start(config, ALPHABET_SIZE)
    plan = chunks.plan_of(config, probes, checkpoint_dir, epochs, label="refit epoch")
    reading = chunks.reading_of(config, text)
    return fit(run, reading, plan, lambda record: report(run.history[-1]), progress)


def summary(refitted: Run, text_end: int) -> RefitSection:
    """The manifest's "refit" section, without the chosen model's validation figure (the
    pipeline measures it)."""
    return {
        "epochs": refitted.epoch,
        "text": {"start": 0, "end": text_end},
        "history": refitted.history,
        "seconds": round(refitted.seconds, 3),
        "cpu_seconds": round(refitted.cpu_seconds, 3),
    }


def line(record: dict[str, Any], epochs: int, probe_positions: int) -> str:
    """The progress line of one refit epoch."""
    return (
        f"refit epoch {record['epoch']:>2}/{epochs} on {TEXT}  loss {record['loss']:.4f}  "
        f"validation {record[TRAINED_VALIDATION + '_accuracy']:.1%} (trained on)  "
        f"test {record['test_accuracy']:.1%}  (first {probe_positions:,} positions of each)  "
        f"{record['seconds']:.1f}s"
    )
