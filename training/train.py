"""The SGD loop: per-sample (batch 1, as the seed) or minibatch, with a stepwise learning rate."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TextIO

import numpy as np
from numpy.typing import NDArray

from model.rnn import PARAM_NAMES, Params, Workspace, check_batch, loss_and_scaled_grads

BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
MIN_SHARD = 32  # windows per thread below which splitting a minibatch does not pay


@dataclass(frozen=True)
class Schedule:
    """learning_rate * decay ** ((epoch - 1) // segment): constant within each segment."""

    learning_rate: float = 0.001
    segment: int = 5
    decay: float = 0.5

    def rate(self, epoch: int) -> float:
        return self.learning_rate * self.decay ** ((epoch - 1) // self.segment)


@dataclass
class EpochRecord:
    epoch: int
    learning_rate: float
    loss: float
    seconds: float
    metrics: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "epoch": self.epoch,
            "learning_rate": self.learning_rate,
            "loss": self.loss,
            **self.metrics,
            "seconds": self.seconds,
        }


def apply_steps(params: Params, steps: Params, limit: float | None) -> None:
    """p <- p - clip(step, -limit, limit), in place, for steps that already carry the learning
    rate: with limit = learning_rate * clip this is p - learning_rate * clip(g, -clip, clip),
    one pass fewer over every array."""
    for name in PARAM_NAMES:
        step = steps[name]
        if limit is not None:
            np.clip(step, -limit, limit, out=step)
        params[name] -= step


class Progress:
    """A one-line progress bar with the running loss, redrawn at most every 0.2 s."""

    def __init__(self, total: int, label: str, stream: TextIO = sys.stderr, width: int = 30) -> None:
        self.total, self.label, self.stream, self.width = total, label, stream, width
        self.last_draw = 0.0

    def update(self, done: int, running_loss: float) -> None:
        now = time.monotonic()
        if done < self.total and now - self.last_draw < 0.2:
            return
        self.last_draw = now
        filled = self.width * done // max(self.total, 1)
        bar = "#" * filled + "-" * (self.width - filled)
        self.stream.write(f"\r{self.label} [{bar}] {done}/{self.total} loss {running_loss:.4f}")
        if done >= self.total:
            self.stream.write("\n")
        self.stream.flush()


def blas_threads() -> int:
    """Threads each BLAS call uses, as the environment set them before NumPy loaded (see
    training/cli.py); unset means one per core."""
    for variable in BLAS_THREAD_VARIABLES:
        value = os.environ.get(variable, "")
        if value.isdigit() and int(value) > 0:
            return int(value)
    return os.cpu_count() or 1


def shard_count(batch_size: int) -> int:
    """Threads to split each minibatch across: the cores a single-threaded BLAS leaves idle.

    NumPy releases the GIL inside every matrix product and every large elementwise loop, so
    shards of one minibatch run in parallel; on two cores this outruns a two-threaded BLAS on
    the whole minibatch, and it does not collapse when another process takes a core.
    """
    idle_cores = (os.cpu_count() or 1) // blas_threads()
    return max(1, min(idle_cores, batch_size // MIN_SHARD))


class Stepper:
    """Computes the clipped SGD steps of one minibatch, split across `shards` threads."""

    def __init__(self, shards: int) -> None:
        self.workspaces = [Workspace() for _ in range(shards)]
        self.pool = ThreadPoolExecutor(shards) if shards > 1 else None

    def __call__(
        self, params: Params, inputs: NDArray[np.int64], targets: NDArray[np.int64], learning_rate: float
    ) -> tuple[float, Params]:
        """(mean loss, learning_rate * mean gradient) over the minibatch."""
        count = min(len(self.workspaces), inputs.shape[0] // MIN_SHARD)  # a short last minibatch
        if self.pool is None or count < 2:
            return loss_and_scaled_grads(params, inputs, targets, learning_rate, self.workspaces[0])
        bounds = np.linspace(0, inputs.shape[0], count + 1).astype(int)

        def shard(index: int) -> tuple[float, Params]:
            part = slice(bounds[index], bounds[index + 1])
            # Each shard's mean scaled by its share of the minibatch: the shards' sum is the mean.
            share = (bounds[index + 1] - bounds[index]) / inputs.shape[0]
            loss, steps = loss_and_scaled_grads(
                params, inputs[part], targets[part], learning_rate * share, self.workspaces[index]
            )
            return loss * share, steps

        results = list(self.pool.map(shard, range(count)))
        total_loss, steps = results[0]
        for loss, more in results[1:]:
            total_loss += loss
            for name in PARAM_NAMES:
                steps[name] += more[name]
        return total_loss, steps

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown()


def run_epoch(
    params: Params,
    inputs: NDArray[np.int64],
    targets: NDArray[np.int64],
    learning_rate: float,
    batch_size: int,
    rng: np.random.Generator,
    clip: float | None = None,
    progress: Progress | None = None,
) -> float:
    """One pass over the windows in a shuffled order; returns the mean per-window loss."""
    inputs, targets = check_batch(params, inputs, targets)  # once, not once per update
    limit = None if clip is None else learning_rate * clip
    order = rng.permutation(inputs.shape[0])
    total_loss, stepper = 0.0, Stepper(shard_count(batch_size))
    try:
        for first in range(0, order.size, batch_size):
            batch = order[first : first + batch_size]
            loss, steps = stepper(params, inputs[batch], targets[batch], learning_rate)
            apply_steps(params, steps, limit)
            total_loss += loss * batch.size
            if progress is not None:
                done = first + batch.size
                progress.update(done, total_loss / done)
    finally:
        stepper.close()
    return total_loss / order.size


def train(
    params: Params,
    inputs: NDArray[np.int64],
    targets: NDArray[np.int64],
    epochs: int,
    schedule: Schedule,
    batch_size: int = 1,
    seed: int = 0,
    clip: float | None = None,
    evaluate: Callable[[Params], dict[str, float]] | None = None,
    on_epoch: Callable[[EpochRecord], None] | None = None,
    show_progress: bool = False,
) -> list[EpochRecord]:
    """Train `params` in place for `epochs` epochs; return one record per epoch."""
    rng = np.random.default_rng(seed)
    history = []
    for epoch in range(1, epochs + 1):
        started = time.perf_counter()
        rate = schedule.rate(epoch)
        progress = Progress(inputs.shape[0], f"epoch {epoch}/{epochs}") if show_progress else None
        loss = run_epoch(params, inputs, targets, rate, batch_size, rng, clip, progress)
        metrics = evaluate(params) if evaluate is not None else {}
        record = EpochRecord(epoch, rate, loss, time.perf_counter() - started, metrics)
        history.append(record)
        if on_epoch is not None:
            on_epoch(record)
    return history
