"""The training loop: minibatch gradients from the model, clipped, then an optimiser step, with
a stepwise learning rate. Batch 1 is the assignment's per-sample SGD."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from tqdm import tqdm

from model.rnn import Params, Workspace, loss_and_grads
from training.blas import blas_threads
from training.optim import NO_CLIPPING, SGD, Clipping, Optimizer

MIN_SHARD = 32  # windows per thread below which splitting a minibatch does not pay
DIVERGED = "lower --lr or clip the gradients (--clip, --clip-norm)"


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


def shard_count(batch_size: int) -> int:
    """Threads to split each minibatch across: the cores a single-threaded BLAS leaves idle;
    5.2x the samples/s of a two-threaded BLAS at batch 256 while other processes held three
    quarters of the two cores (docs/performance.md).

    NumPy releases the GIL inside every matrix product and every large elementwise loop, so
    shards of one minibatch run in parallel; on two cores this outruns a two-threaded BLAS on
    the whole minibatch, and it does not collapse when another process takes a core.
    """
    idle_cores = (os.cpu_count() or 1) // blas_threads()
    return max(1, min(idle_cores, batch_size // MIN_SHARD))


class ShardedGradients:
    """The mean loss and gradients of one minibatch, split across `shards` threads."""

    def __init__(self, shards: int) -> None:
        self.workspaces = [Workspace() for _ in range(shards)]
        self.pool = ThreadPoolExecutor(shards) if shards > 1 else None

    def __call__(
        self, params: Params, inputs: NDArray[np.int64], targets: NDArray[np.int64]
    ) -> tuple[float, Params]:
        count = min(len(self.workspaces), inputs.shape[0] // MIN_SHARD)  # a short last minibatch
        if self.pool is None or count < 2:
            return loss_and_grads(params, inputs, targets, self.workspaces[0])
        bounds = np.linspace(0, inputs.shape[0], count + 1).astype(int)

        def shard(index: int) -> tuple[float, Params]:
            part = slice(bounds[index], bounds[index + 1])
            loss, grads = loss_and_grads(params, inputs[part], targets[part], self.workspaces[index])
            # Each shard's mean weighted by its share of the minibatch: the sum is the mean.
            share = (bounds[index + 1] - bounds[index]) / inputs.shape[0]
            for grad in grads.values():
                grad *= share
            return loss * share, grads

        results = list(self.pool.map(shard, range(count)))
        total_loss, grads = results[0]
        for loss, more in results[1:]:  # summed in a fixed order: training stays reproducible
            total_loss += loss
            for name, grad in more.items():
                grads[name] += grad
        return total_loss, grads

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
    optimizer: Optimizer,
    clipping: Clipping = NO_CLIPPING,
    progress: tqdm[Any] | None = None,
) -> float:
    """One pass over the windows in a shuffled order; returns the mean per-window loss."""
    order = rng.permutation(inputs.shape[0])
    total_loss, minibatch_gradients = 0.0, ShardedGradients(shard_count(batch_size))
    try:
        for first in range(0, order.size, batch_size):
            batch = order[first : first + batch_size]
            loss, grads = minibatch_gradients(params, inputs[batch], targets[batch])
            if not np.isfinite(loss):
                raise FloatingPointError(f"the loss became {loss}")
            clipping(grads)
            optimizer.step(params, grads, learning_rate)
            total_loss += loss * batch.size
            if progress is not None:
                progress.set_postfix_str(f"loss {total_loss / (first + batch.size):.4f}", refresh=False)
                progress.update(batch.size)  # redraws at most every mininterval
    finally:
        minibatch_gradients.close()
    if progress is not None:
        progress.refresh()  # the epoch's final count, rate and loss, however short the epoch
    return total_loss / order.size


def train(
    params: Params,
    inputs: NDArray[np.int64],
    targets: NDArray[np.int64],
    epochs: int,
    schedule: Schedule,
    batch_size: int = 1,
    seed: int = 0,
    optimizer: Optimizer | None = None,
    clipping: Clipping = NO_CLIPPING,
    evaluate: Callable[[Params], dict[str, float]] | None = None,
    on_epoch: Callable[[EpochRecord], None] | None = None,
    show_progress: bool = False,
) -> list[EpochRecord]:
    """Train `params` in place for `epochs` epochs (SGD unless told); one record per epoch.

    FloatingPointError, at the first minibatch whose loss or the first epoch whose weights are
    not finite: a diverged run stops there rather than training on NaN.
    """
    rng = np.random.default_rng(seed)
    optimizer = SGD() if optimizer is None else optimizer
    history = []
    for epoch in range(1, epochs + 1):
        started = time.perf_counter()
        rate = schedule.rate(epoch)
        bar = tqdm(
            total=inputs.shape[0],
            desc=f"epoch {epoch}/{epochs}",
            unit="window",
            leave=False,
            disable=not show_progress,
            mininterval=0.2,
        )
        # Overflow is detected as a non-finite loss or weight, and reported as one clear error.
        with bar as progress, np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            try:
                loss = run_epoch(
                    params, inputs, targets, rate, batch_size, rng, optimizer, clipping, progress
                )
            except FloatingPointError as error:
                raise FloatingPointError(f"epoch {epoch}: {error}; {DIVERGED}") from None
        broken = [name for name, array in params.items() if not np.all(np.isfinite(array))]
        if broken:
            raise FloatingPointError(f"epoch {epoch}: {broken} became NaN or infinite; {DIVERGED}")
        metrics = evaluate(params) if evaluate is not None else {}
        record = EpochRecord(epoch, rate, loss, time.perf_counter() - started, metrics)
        history.append(record)
        if on_epoch is not None:
            on_epoch(record)
    return history
