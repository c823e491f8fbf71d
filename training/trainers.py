"""The two ways to train, as the pipeline calls them: the assignment's RNN on windows
(training/windows.py), and a language model on the whole training text in chunks
(training/chunks.py), with the refit after it when the recipe asks (training/refit.py). Both
train in the one loop of training/fit.py."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from typing import Any, NotRequired, TypedDict

import numpy as np

from model.accuracy import Positions, evaluate
from model.alphabet import ALPHABET_SIZE
from model.language_model import ARCHITECTURES, LanguageModel, Params
from model.rnn import init_params
from training import checkpoint, chunks, refit, windows
from training.config import TrainingConfig
from training.data import train_span, trained_positions
from training.data import windows as cut_windows
from training.fit import EpochRecord, Schedule
from training.optim import OPTIMIZERS, Clipping
from training.refit import RefitSection

PROBE_POSITIONS = 4000  # positions of each split measured after every epoch of a language model


class ChunkFields(TypedDict):
    """The manifest fields of a language model's training, in the manifest's order."""

    best_epoch: int  # phase 1's best epoch on validation
    probe_positions: int  # positions of each split measured after every epoch
    training_cpu_seconds: float  # every phase's
    refit: NotRequired[RefitSection]


@dataclass
class Trained:
    """What a trainer hands the pipeline: the weights to ship and how they were obtained."""

    params: Params
    history: list[dict[str, Any]]
    fields: ChunkFields | None  # the manifest fields of a language model's training; None for the RNN
    seconds: float  # training time, every phase included
    trained_on: Positions  # the positions the shipped weights learnt to predict
    measured: tuple[str, ...]  # the splits to measure the shipped weights on
    chosen: Params | None = None  # with a refit: phase 1's best weights, not shipped

    @property
    def refit_section(self) -> RefitSection | None:
        """The refit's section of the manifest, if there was a refit."""
        return None if self.fields is None else self.fields.get("refit")


def train_windows(
    config: TrainingConfig, indices: Any, splits: dict[str, Positions], show_progress: bool
) -> Trained:
    """The assignment's way: `samples` windows from the start of the text, shuffled each epoch."""
    train_data = train_span(len(indices), config.seq_length, config.samples, config.stride)
    inputs, targets = cut_windows(indices, train_data, config.seq_length)
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
    probes = {"train": trained_positions(train_data, config.seq_length), "test": splits["test"]}

    def measure(current: dict[str, Any]) -> dict[str, float]:
        model = LanguageModel(ARCHITECTURES["rnn"], current, config.seq_length)
        return {
            f"{split}_accuracy": evaluate(model, indices, where).accuracy for split, where in probes.items()
        }

    def report(record: EpochRecord) -> None:
        print(
            f"epoch {record.epoch:>2}/{config.epochs}  lr {record.learning_rate:.6g}  "
            f"loss {record.loss:.4f}  train {record.metrics['train_accuracy']:.1%}  "
            f"test {record.metrics['test_accuracy']:.1%}  {record.seconds:.1f}s",
            flush=True,
        )

    started = time.perf_counter()
    history = windows.train(
        params,
        inputs,
        targets,
        epochs=config.epochs,
        schedule=Schedule.of(config),
        batch_size=config.batch_size,
        seed=config.seed,
        optimizer=OPTIMIZERS[config.optimizer](),
        clipping=Clipping.of(config),
        evaluate=measure,
        on_epoch=report,
        show_progress=show_progress,
    )
    records = [record.as_dict() for record in history]
    seconds = time.perf_counter() - started
    return Trained(params, records, None, seconds, probes["train"], ("train", "validation", "test"))


def epoch_line(record: dict[str, Any], epochs: int) -> str:
    """The progress line of one epoch of phase 1."""
    return (
        f"epoch {record['epoch']:>2}/{epochs}  loss {record['loss']:.4f}  "
        f"validation {record['validation_accuracy']:.1%}  test {record['test_accuracy']:.1%}  "
        f"(first {PROBE_POSITIONS:,} positions of each)  {record['seconds']:.1f}s"
    )


@dataclass
class Chosen:
    """What phase 1 leaves: its best epoch's weights and how they were found. Its last weights
    and optimiser moments are dropped: the refit would hold them for nothing."""

    params: Params
    epoch: int
    history: list[dict[str, Any]]
    seconds: float
    cpu_seconds: float


def train_chunks(
    config: TrainingConfig, indices: Any, splits: dict[str, Positions], show_progress: bool
) -> Trained:
    """A language model on all the text before validation; the best epoch on validation wins,
    and with a refit, a fresh model trained as long on all the text before test is shipped."""
    probes = {
        split: (indices, Positions(where.start, min(where.end, where.start + PROBE_POSITIONS)))
        for split, where in splits.items()
    }
    if not config.resume:
        checkpoint.remove(checkpoint.refit_path_for(config.out))  # an earlier run's, never continued
    chosen = phase_1(config, indices[: splits["validation"].start], probes, show_progress)
    if config.refit:
        return refit_chunks(config, indices, splits, probes, chosen, show_progress)
    fields = chunk_fields(chosen, chosen.cpu_seconds)
    trained_on, measured = Positions(1, splits["validation"].start), ("validation", "test")
    return Trained(chosen.params, chosen.history, fields, chosen.seconds, trained_on, measured)


def phase_1(config: TrainingConfig, text: Any, probes: chunks.Probes, show_progress: bool) -> Chosen:
    """Train on the text before validation, stopping early; the best epoch on validation."""
    done = chunks.train(
        config,
        text,
        probes,
        checkpoint.path_for(config.out),
        resume=config.resume,
        progress=show_progress,
        report=lambda record: print(epoch_line(record, config.epochs), flush=True),
    )
    return Chosen(done.best_params, done.best_epoch, done.history, done.seconds, done.cpu_seconds)


def chunk_fields(chosen: Chosen, cpu_seconds: float) -> ChunkFields:
    """The manifest fields of a language model's training, without a refit's."""
    return {
        "best_epoch": chosen.epoch,
        "probe_positions": PROBE_POSITIONS,
        "training_cpu_seconds": round(cpu_seconds, 3),
    }


def refit_chunks(
    config: TrainingConfig,
    indices: Any,
    splits: dict[str, Positions],
    probes: chunks.Probes,
    chosen: Chosen,
    show_progress: bool,
) -> Trained:
    """Phase 2: a fresh model for phase 1's best epoch count on all the text before test."""
    end = splits["test"].start
    refitted = refit.train(
        config,
        chosen.epoch,
        indices[:end],
        refit.probes_of(probes),
        checkpoint.refit_path_for(config.out),
        resume=config.resume,
        progress=show_progress,
        report=lambda record: print(refit.line(record, chosen.epoch, PROBE_POSITIONS), flush=True),
    )
    fields = chunk_fields(chosen, chosen.cpu_seconds + refitted.cpu_seconds)
    fields["refit"] = refit.summary(refitted, end)
    seconds, trained_on = chosen.seconds + refitted.seconds, Positions(1, end)
    return Trained(refitted.params, chosen.history, fields, seconds, trained_on, ("test",), chosen.params)
