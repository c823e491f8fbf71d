"""Training a language model on the whole training text, in chunks.

Each epoch cuts the text before the validation split into chunks of `seq_length` characters
from a random offset, shuffles them, and steps through minibatches of them: gradients from
the model, clipped, then an optimiser step. Each chunk is read from the zero state, as
inference reads a window, so the model learns exactly the task it is asked. After each epoch
the validation probe chooses the best epoch and stops the run when it stops improving; the
test probe is only recorded. A checkpoint after each epoch lets a killed run resume and end
where an uninterrupted run would have ended. The refit (training/refit.py) trains its epochs
with the same `epoch` on more text.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from tqdm import tqdm

from model import lstm_lm, rnn
from model.accuracy import Positions, evaluate_split
from model.alphabet import ALPHABET_SIZE
from model.language_model import LanguageModel, Params, architecture
from training import checkpoint
from training.config import TrainingConfig
from training.optim import OPTIMIZERS, Clipping, Optimizer

Indices = NDArray[np.int64]
Gradients = Callable[[Params, Indices, Indices, np.random.Generator], tuple[float, Params]]
Probes = dict[str, tuple[Indices, Positions]]  # name -> (the whole text's indices, positions)


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


@dataclass
class Run:
    """Everything a checkpoint holds: enough to continue exactly."""

    params: Params
    optimizer: Optimizer
    rng: np.random.Generator
    epoch: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)
    best_params: Params = field(default_factory=dict)
    best_epoch: int = 0
    best_validation: float = -1.0
    seconds: float = 0.0  # training time so far, across resumed runs
    cpu_seconds: float = 0.0  # CPU time of this process meanwhile: about 2 x seconds on 2 idle cores

    @property
    def stale_epochs(self) -> int:
        return self.epoch - self.best_epoch


def start(config: TrainingConfig, n_in: int) -> Run:
    params = architecture(config.architecture).init_params(
        n_in, config.hidden, n_in, config.seed, np.dtype(config.dtype)
    )
    return Run(params, OPTIMIZERS[config.optimizer](), np.random.default_rng(config.seed))


def run_epoch(
    config: TrainingConfig, run: Run, text: Indices, gradients: Gradients, progress: bool, label: str
) -> float:
    """One pass over the text; returns the mean loss per position. A model that reads windows
    steps through chunks in a shuffled order, each from the zero state; a model that reads
    whole texts (config.carry) steps through `batch_size` streams in order, chunk after chunk,
    with the state carried (truncated BPTT). The learning rate is a function of the epoch's
    number alone, so a refit follows phase 1's."""
    offset = int(run.rng.integers(config.seq_length))
    clipping = Clipping(value=config.clip or None, norm=config.clip_norm or None)
    rate = config.lr * config.lr_decay ** ((run.epoch - 1) // config.lr_segment)
    if config.carry:
        inputs, targets = streams(text, config.batch_size, config.seq_length, offset)
        steps = inputs.shape[1] // config.seq_length
        columns = [slice(k * config.seq_length, (k + 1) * config.seq_length) for k in range(steps)]
        batches = [(np.arange(config.batch_size), column) for column in columns]
    else:
        inputs, targets = chunks(text, config.seq_length, offset)
        order = run.rng.permutation(inputs.shape[0])
        whole = slice(None)
        batches = [
            (order[first : first + config.batch_size], whole)
            for first in range(0, order.size, config.batch_size)
        ]
    carried: lstm_lm.Carried | None = None
    rates = (config.dropout, run.rng, config.context_dropout, config.order_dropout)
    total, count = 0.0, 0
    bar = tqdm(
        total=len(batches), desc=label, unit="batch", leave=False, disable=not progress, mininterval=0.5
    )
    # Overflow is detected below and reported as one clear error, not as a warning per step.
    with bar, np.errstate(over="ignore", invalid="ignore"):
        for rows, column in batches:
            x, y = inputs[rows, column], targets[rows, column]
            if config.carry:
                if carried is not None and config.reset > 0:
                    carried = reset_some(carried, config.reset, run.rng)
                loss, grads, carried = lstm_lm.loss_grads_and_carry(run.params, x, y, carried, *rates)
            else:
                loss, grads = gradients(run.params, x, y, run.rng)
            if not np.isfinite(loss):
                raise FloatingPointError(
                    f"epoch {run.epoch}: the loss became {loss}; lower --lr or set --clip-norm"
                )
            clipping(grads)
            run.optimizer.step(run.params, grads, rate)
            total += loss * x.size
            count += x.size
            bar.set_postfix_str(f"loss {total / count:.4f}", refresh=False)
            bar.update(1)
    broken = [name for name, array in run.params.items() if not np.all(np.isfinite(array))]
    if broken:
        raise FloatingPointError(
            f"epoch {run.epoch}: {broken} became NaN or infinite; lower --lr or set --clip-norm"
        )
    return total / count


def epoch(
    config: TrainingConfig,
    run: Run,
    text: Indices,
    probes: Probes,
    gradients: Gradients,
    progress: bool,
    label: str,
) -> dict[str, Any]:
    """Train epoch run.epoch + 1 on `text`, measure the probes, and append the epoch's record
    (loss, time, and per probe its accuracy and bits per character) to run.history."""
    run.epoch += 1
    began, cpu_began = time.perf_counter(), time.process_time()
    loss = run_epoch(config, run, text, gradients, progress, label)
    model = LanguageModel(architecture(config.architecture), run.params, config.context)
    measured = {split: evaluate_split(model, indices, where) for split, (indices, where) in probes.items()}
    elapsed = time.perf_counter() - began
    run.seconds += elapsed
    run.cpu_seconds += time.process_time() - cpu_began
    record = {"epoch": run.epoch, "loss": loss, "seconds": round(elapsed, 3)}
    record |= {f"{split}_accuracy": accuracy.accuracy for split, accuracy in measured.items()}
    record |= {f"{split}_bits_per_char": accuracy.bits_per_char for split, accuracy in measured.items()}
    run.history.append(record)
    return record


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
    maps "validation" and "test" to (the whole text's indices, the positions to measure)."""
    run = checkpoint.load(checkpoint_dir, config) if resume else start(config, ALPHABET_SIZE)
    gradients = gradients_of(config)
    while run.epoch < config.epochs and (config.patience == 0 or run.stale_epochs < config.patience):
        label = f"epoch {run.epoch + 1}/{config.epochs}"
        record = epoch(config, run, text, probes, gradients, progress, label)
        if record["validation_accuracy"] > run.best_validation:
            run.best_validation, run.best_epoch = record["validation_accuracy"], run.epoch
            run.best_params = {name: array.copy() for name, array in run.params.items()}
        checkpoint.save(checkpoint_dir, config, run)
        report(record)
    return run
