"""Training a language model on the whole training text, in chunks.

Each epoch cuts the text before the validation split into chunks of `seq_length` characters
from a random offset. A model that reads windows (`Chunks`) steps through them shuffled, each
read from the zero state, as inference reads a window, so that the model learns exactly the
task it is asked; a model that reads whole texts (`Streams`, --carry) steps through
`batch_size` streams in order, chunk after chunk, with the state carried (truncated BPTT).
The loop is training/fit.py. After each epoch the validation probe chooses the best epoch and
stops the run when it stops improving; the test probe is only recorded. A checkpoint after
each epoch lets a killed run resume and end where an uninterrupted run would have ended. The
refit (training/refit.py) trains its epochs with the same reading on more text.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from model import lstm_lm, rnn
from model.accuracy import Positions, evaluate_split
from model.alphabet import ALPHABET_SIZE
from model.language_model import LanguageModel, Params, architecture
from training import checkpoint
from training.config import TrainingConfig
from training.fit import (
    Epoch,
    EpochRecord,
    Indices,
    Minibatch,
    Plan,
    Reading,
    Run,
    Schedule,
    fit,
    shuffled,
)
from training.optim import OPTIMIZERS, Clipping

Gradients = Callable[[Params, Indices, Indices, np.random.Generator], tuple[float, Params]]
Probes = dict[str, tuple[Indices, Positions]]  # name -> (the whole text's indices, positions)
DIVERGED = "lower --lr or set --clip-norm"


def chunks(indices: Indices, seq_length: int, offset: int) -> tuple[Indices, Indices]:
    """(inputs, targets) of shape (n, seq_length): consecutive chunks from `offset`, targets
    shifted by one character."""
    count = (len(indices) - 1 - offset) // seq_length
    starts = offset + seq_length * np.arange(count)
    cut = starts[:, None] + np.arange(seq_length)[None, :]
    return indices[cut], indices[cut + 1]


def gradients_of(config: TrainingConfig) -> Gradients:
    """The model's loss and gradients on a minibatch, with the recipe's dropout."""
    if config.architecture.startswith("lstm"):

        def language_model(
            params: Params, x: Indices, y: Indices, rng: np.random.Generator
        ) -> tuple[float, Params]:
            rates = (config.context_dropout, config.order_dropout)
            return lstm_lm.loss_and_grads(params, x, y, config.dropout, rng, *rates)

        return language_model
    return lambda params, x, y, rng: rnn.loss_and_grads(params, x, y)


def reset_some(carried: lstm_lm.Carried, rate: float, rng: np.random.Generator) -> lstm_lm.Carried:
    """The carried state with each stream's reset to the start of a text (zero h and s, no
    characters before) with probability `rate`: the model keeps learning to read a text from
    its start, and cannot lean on where in the book a long carried state has placed it."""
    reset = rng.random(carried.h.shape[0]) < rate
    h, s = carried.h.copy(), carried.s.copy()
    h[reset], s[reset] = 0.0, 0.0
    history = None
    if carried.history is not None:
        history = carried.history.copy()
        history[reset] = -1
    return lstm_lm.Carried(h, s, history)


def streams(indices: Indices, count: int, seq_length: int, offset: int) -> tuple[Indices, Indices]:
    """(inputs, targets) of shape (count, steps * seq_length): the text from `offset` cut into
    `count` consecutive streams of equal length, a whole number of chunks each, targets
    shifted by one character. Chunk k of every stream is columns k * seq_length onwards."""
    length = (len(indices) - 1 - offset) // count // seq_length * seq_length
    if length < seq_length:
        raise ValueError(
            f"the text is too short for {count} streams of {seq_length} characters; "
            "lower --batch-size or --seq-length"
        )
    starts = offset + length * np.arange(count)
    cut = starts[:, None] + np.arange(length)[None, :]
    return indices[cut], indices[cut + 1]


@dataclass(frozen=True)
class Chunks:
    """Chunks from a random offset each epoch, shuffled, each read from the zero state; the
    loss is a mean per character."""

    text: Indices
    seq_length: int
    batch_size: int
    gradients: Gradients
    unit: ClassVar[str] = "char"

    def epoch(self, rng: np.random.Generator) -> Epoch:
        inputs, targets = chunks(self.text, self.seq_length, int(rng.integers(self.seq_length)))
        batches = shuffled(inputs.shape[0], self.batch_size, rng)
        per_row = self.seq_length
        minibatches = (Minibatch(inputs[rows], targets[rows], rows.size * per_row) for rows in batches)

        def loss_and_grads(params: Params, minibatch: Minibatch) -> tuple[float, Params]:
            return self.gradients(params, minibatch.inputs, minibatch.targets, rng)

        return Epoch(minibatches, inputs.size, loss_and_grads)


@dataclass(frozen=True)
class Streams:
    """`batch_size` streams from a random offset each epoch, read chunk after chunk with the
    LSTM's state carried from one chunk to the next, each stream's reset to a text's start
    with probability `reset` at a chunk's start; the loss is a mean per character."""

    text: Indices
    seq_length: int
    batch_size: int
    reset: float
    dropout: tuple[float, float, float]  # the rates on h, on the context embeddings, on their orders
    unit: ClassVar[str] = "char"

    def epoch(self, rng: np.random.Generator) -> Epoch:
        offset = int(rng.integers(self.seq_length))
        inputs, targets = streams(self.text, self.batch_size, self.seq_length, offset)
        steps = inputs.shape[1] // self.seq_length
        columns = [slice(k * self.seq_length, (k + 1) * self.seq_length) for k in range(steps)]
        size = self.batch_size * self.seq_length
        minibatches = (Minibatch(inputs[:, column], targets[:, column], size) for column in columns)
        dropout, context_dropout, order_dropout = self.dropout
        carried: lstm_lm.Carried | None = None  # every stream starts the epoch at a text's start

        def loss_and_grads(params: Params, minibatch: Minibatch) -> tuple[float, Params]:
            nonlocal carried
            if carried is not None and self.reset > 0:
                carried = reset_some(carried, self.reset, rng)
            x, y = minibatch.inputs, minibatch.targets
            loss, grads, carried = lstm_lm.loss_grads_and_carry(
                params, x, y, carried, dropout, rng, context_dropout, order_dropout
            )
            return loss, grads

        return Epoch(minibatches, inputs.size, loss_and_grads)


def reading_of(config: TrainingConfig, text: Indices) -> Reading:
    """How the recipe reads `text`: streams with the state carried, or shuffled chunks."""
    if config.carry:
        dropout = (config.dropout, config.context_dropout, config.order_dropout)
        return Streams(text, config.seq_length, config.batch_size, config.reset, dropout)
    return Chunks(text, config.seq_length, config.batch_size, gradients_of(config))


def start(config: TrainingConfig, n_in: int) -> Run:
    params = architecture(config.architecture).init_params(
        n_in, config.hidden, n_in, config.seed, np.dtype(config.dtype)
    )
    return Run(params, OPTIMIZERS[config.optimizer](), np.random.default_rng(config.seed))


def probe_of(config: TrainingConfig, probes: Probes) -> Callable[[Params], dict[str, float]]:
    """The metrics of each epoch: per probe its accuracy, then per probe its bits per character."""

    def measure(params: Params) -> dict[str, float]:
        model = LanguageModel(architecture(config.architecture), params, config.context)
        measured = {split: evaluate_split(model, text, where) for split, (text, where) in probes.items()}
        metrics = {f"{split}_accuracy": found.accuracy for split, found in measured.items()}
        return metrics | {f"{split}_bits_per_char": found.bits_per_char for split, found in measured.items()}

    return measure


def plan_of(
    config: TrainingConfig, probes: Probes, checkpoint_dir: Path, epochs: int, label: str = "epoch"
) -> Plan:
    """The recipe's plan for a language model: `epochs` epochs, the probes measured and the
    checkpoint written after each; neither the best epoch nor patience (the caller's choice)."""
    return Plan(
        epochs,
        Schedule.of(config),
        Clipping.of(config),
        probe=probe_of(config, probes),
        save=lambda run: checkpoint.save(checkpoint_dir, config, run),
        layout=EpochRecord.as_language_model_dict,
        advice=DIVERGED,
        label=label,
    )


def train(
    config: TrainingConfig,
    text: Indices,
    probes: Probes,
    checkpoint_dir: Path,
    resume: bool = False,
    progress: bool = False,
    report: Callable[[dict[str, Any]], None] = print,
) -> Run:
    """Train until `config.epochs` or until validation stops improving for `config.patience`
    epochs; returns the run with its best parameters. `text` is the training text; `probes`
    maps "validation" and "test" to (the whole text's indices, the positions to measure).
    `report` gets each epoch's record (loss, time, and per probe its accuracy and bits per
    character) once its checkpoint is written."""
    run = checkpoint.load(checkpoint_dir, config) if resume else start(config, ALPHABET_SIZE)
    plan = plan_of(config, probes, checkpoint_dir, config.epochs)
    plan = replace(plan, choose_on="validation_accuracy", patience=config.patience)
    return fit(run, reading_of(config, text), plan, lambda record: report(run.history[-1]), progress)
