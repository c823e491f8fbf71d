"""The one training loop: every architecture, and every way of reading the text, trains in fit().

A `Reading` says how an epoch reads the training text: its minibatches, each a chunk of
indices with its targets, and the model's loss and gradients on each. There are three:
training/windows.py (the assignment's RNN on fixed windows), and training/chunks.py (a
language model on chunks from the zero state, or on streams with the state carried).

fit() owns everything else: the shuffling of minibatches (`shuffled`), the learning-rate
schedule, the step (gradients, non-finite check, clipping, optimiser), the progress bar, the
epoch's record, the probes measured after it, the best epoch, patience and the checkpoint.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

import numpy as np
from numpy.typing import NDArray
from tqdm import tqdm

from model.language_model import Params
from training.config import TrainingConfig
from training.optim import NO_CLIPPING, Clipping, Optimizer

Indices = NDArray[np.int64]
DIVERGED = "lower --lr or clip the gradients (--clip, --clip-norm)"


@dataclass(frozen=True)
class Schedule:
    """learning_rate * decay ** ((epoch - 1) // segment): constant within each segment. The rate
    is a function of the epoch's number alone, so a refit follows phase 1's."""

    learning_rate: float = 0.001
    segment: int = 5
    decay: float = 0.5

    @classmethod
    def of(cls, config: TrainingConfig) -> Schedule:
        return cls(config.lr, config.lr_segment, config.lr_decay)

    def rate(self, epoch: int) -> float:
        return self.learning_rate * self.decay ** ((epoch - 1) // self.segment)


class Minibatch(NamedTuple):
    inputs: Indices  # (rows, T)
    targets: Indices  # (rows, T): inputs shifted by one character
    size: int  # how many of the reading's units (windows, characters) the loss is a mean over


def no_resources() -> None:
    """An epoch that holds nothing to release."""


@dataclass
class Epoch:
    """One epoch of a reading: its minibatches in the order they are stepped through (made as
    they are needed), and the loss and gradients of each; `close` releases what the epoch holds."""

    minibatches: Iterable[Minibatch]
    size: int  # the sum of the minibatches' sizes: what the progress bar counts to
    loss_and_grads: Callable[[Params, Minibatch], tuple[float, Params]]
    close: Callable[[], None] = no_resources


class Reading(Protocol):
    """A way of reading the training text."""

    @property
    def unit(self) -> str:
        """What a minibatch's loss is the mean over: the progress bar counts them."""

    def epoch(self, rng: np.random.Generator) -> Epoch:
        """The next epoch, its order (and anything else random about it) drawn from `rng`."""


def shuffled(rows: int, batch_size: int, rng: np.random.Generator) -> list[Indices]:
    """The rows of each minibatch: all `rows` in an order drawn from `rng`, `batch_size` at a time
    (the last minibatch may be shorter). Drawn at once, before any minibatch is read."""
    order = rng.permutation(rows)
    return [order[first : first + batch_size] for first in range(0, rows, batch_size)]


@dataclass
class EpochRecord:
    epoch: int
    learning_rate: float
    loss: float
    seconds: float
    metrics: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """The record as the assignment's RNN keeps it in its history."""
        return {
            "epoch": self.epoch,
            "learning_rate": self.learning_rate,
            "loss": self.loss,
            **self.metrics,
            "seconds": self.seconds,
        }

    def as_language_model_dict(self) -> dict[str, Any]:
        """The record as a language model keeps it in its history and its checkpoint."""
        return {"epoch": self.epoch, "loss": self.loss, "seconds": round(self.seconds, 3), **self.metrics}


@dataclass
class Run:
    """A training run's state: everything a checkpoint holds, enough to continue exactly."""

    params: Params
    optimizer: Optimizer
    rng: np.random.Generator
    epoch: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)
    best_params: Params = field(default_factory=dict)
    best_epoch: int = 0
    best_validation: float = -1.0  # the best value yet of the metric the plan chooses on
    seconds: float = 0.0  # training time so far, across resumed runs
    cpu_seconds: float = 0.0  # CPU time of this process meanwhile: about 2 x seconds on 2 idle cores

    @property
    def stale_epochs(self) -> int:
        return self.epoch - self.best_epoch


@dataclass(frozen=True)
class Plan:
    """What fit() does with a run: how far it trains, at which rates, clipped how, and what
    follows each epoch."""

    epochs: int  # the run ends after the epoch of this number
    schedule: Schedule
    clipping: Clipping = NO_CLIPPING
    probe: Callable[[Params], dict[str, float]] | None = None  # metrics measured after each epoch
    choose_on: str | None = None  # the metric whose best epoch's weights are kept (run.best_params)
    patience: int = 0  # stop after this many epochs without a better choose_on; 0 = never
    save: Callable[[Run], None] | None = None  # the checkpoint after each epoch
    layout: Callable[[EpochRecord], dict[str, Any]] = EpochRecord.as_dict  # run.history's form
    advice: str = DIVERGED  # what the error of a diverged run suggests
    label: str = "epoch"  # the progress bar's, before "n/epochs"


def run_epoch(
    params: Params,
    epoch: Epoch,
    learning_rate: float,
    optimizer: Optimizer,
    clipping: Clipping = NO_CLIPPING,
    progress: tqdm[Any] | None = None,
) -> float:
    """One pass over the epoch's minibatches, a step after each; returns the mean loss per unit.
    FloatingPointError at the first minibatch whose loss is not finite."""
    total, count = 0.0, 0
    try:
        for minibatch in epoch.minibatches:
            loss, grads = epoch.loss_and_grads(params, minibatch)
            if not np.isfinite(loss):
                raise FloatingPointError(f"the loss became {loss}")
            clipping(grads)
            optimizer.step(params, grads, learning_rate)
            total += loss * minibatch.size
            count += minibatch.size
            if progress is not None:
                progress.set_postfix_str(f"loss {total / count:.4f}", refresh=False)
                progress.update(minibatch.size)  # redraws at most every mininterval
    finally:
        epoch.close()
    if progress is not None:
        progress.refresh()  # the epoch's final count, rate and loss, however short the epoch
    return total / count


def fit(
    run: Run,
    reading: Reading,
    plan: Plan,
    on_epoch: Callable[[EpochRecord], None] | None = None,
    show_progress: bool = False,
) -> Run:
    """Train `run` in place until epoch plan.epochs, or until plan.choose_on has not improved for
    plan.patience epochs; returns it. After each epoch: the probe's metrics, the record (appended
    to run.history in plan.layout), the best epoch, the checkpoint, then on_epoch(record).

    FloatingPointError, at the first minibatch whose loss or the first epoch whose weights are
    not finite: a diverged run stops there rather than training on NaN.
    """
    while run.epoch < plan.epochs and (plan.patience == 0 or run.stale_epochs < plan.patience):
        run.epoch += 1
        began, cpu_began = time.perf_counter(), time.process_time()
        rate = plan.schedule.rate(run.epoch)
        epoch = reading.epoch(run.rng)
        bar = tqdm(
            total=epoch.size,
            desc=f"{plan.label} {run.epoch}/{plan.epochs}",
            unit=reading.unit,
            leave=False,
            disable=not show_progress,
            mininterval=0.2,
        )
        # Overflow is detected as a non-finite loss or weight, and reported as one clear error.
        with bar as progress, np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            try:
                loss = run_epoch(run.params, epoch, rate, run.optimizer, plan.clipping, progress)
            except FloatingPointError as error:
                raise FloatingPointError(f"epoch {run.epoch}: {error}; {plan.advice}") from None
        broken = [name for name, array in run.params.items() if not np.all(np.isfinite(array))]
        if broken:
            raise FloatingPointError(f"epoch {run.epoch}: {broken} became NaN or infinite; {plan.advice}")
        metrics = plan.probe(run.params) if plan.probe is not None else {}
        elapsed = time.perf_counter() - began
        run.seconds += elapsed
        run.cpu_seconds += time.process_time() - cpu_began
        record = EpochRecord(run.epoch, rate, loss, elapsed, metrics)
        run.history.append(plan.layout(record))
        if plan.choose_on is not None and metrics[plan.choose_on] > run.best_validation:
            run.best_validation, run.best_epoch = metrics[plan.choose_on], run.epoch
            run.best_params = {name: array.copy() for name, array in run.params.items()}
        if plan.save is not None:
            plan.save(run)
        if on_epoch is not None:
            on_epoch(record)
    return run
