"""The assignment's way of reading: fixed windows of the text, each read from the zero state,
shuffled into minibatches each epoch, for the RNN; batch 1 is the assignment's per-sample SGD.
The loop is training/fit.py; this module says what an epoch's minibatches are and how their
gradients are computed: across threads when a minibatch is large enough (ShardedGradients)."""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray
from tqdm import tqdm

from model.rnn import Params, Workspace, loss_and_grads
from training import fit
from training.blas import blas_threads
from training.fit import Epoch, EpochRecord, Minibatch, Plan, Run, Schedule, shuffled
from training.optim import NO_CLIPPING, SGD, Clipping, Optimizer

MIN_SHARD = 32  # windows per thread below which splitting a minibatch does not pay


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

    def minibatch(self, params: Params, minibatch: Minibatch) -> tuple[float, Params]:
        return self(params, minibatch.inputs, minibatch.targets)

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown()


@dataclass(frozen=True)
class Windows:
    """The same windows every epoch, in a new shuffled order; the RNN's loss is a mean per window."""

    inputs: NDArray[np.int64]  # (windows, seq_length)
    targets: NDArray[np.int64]
    batch_size: int
    unit: ClassVar[str] = "window"

    def epoch(self, rng: np.random.Generator) -> Epoch:
        batches = shuffled(self.inputs.shape[0], self.batch_size, rng)
        gradients = ShardedGradients(shard_count(self.batch_size))
        minibatches = (Minibatch(self.inputs[rows], self.targets[rows], rows.size) for rows in batches)
        return Epoch(minibatches, self.inputs.shape[0], gradients.minibatch, gradients.close)


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
    """One epoch of fit()'s loop over these windows in a shuffled order; returns the mean
    per-window loss (what bench/training_step.py times)."""
    epoch = Windows(inputs, targets, batch_size).epoch(rng)
    return fit.run_epoch(params, epoch, learning_rate, optimizer, clipping, progress)


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
    """Train `params` in place on these windows for `epochs` epochs (SGD unless told), the order
    drawn from `seed`, `evaluate`'s metrics measured after each epoch; one record per epoch.

    FloatingPointError, at the first minibatch whose loss or the first epoch whose weights are
    not finite: a diverged run stops there rather than training on NaN.
    """
    records: list[EpochRecord] = []

    def keep(record: EpochRecord) -> None:
        records.append(record)
        if on_epoch is not None:
            on_epoch(record)

    run = Run(params, SGD() if optimizer is None else optimizer, np.random.default_rng(seed))
    plan = Plan(epochs, schedule, clipping, probe=evaluate)
    fit.fit(run, Windows(inputs, targets, batch_size), plan, keep, show_progress)
    return records
