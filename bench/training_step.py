"""Benchmark 1: samples per second of one SGD training step of the 27-400-27 net, seq_length 10.

Three implementations side by side, each in its own process so that its BLAS thread count
is set before NumPy (or PyTorch) loads, exactly as it is run for real:

- plain : the readable reference (model/rnn_reference.py) one window at a time, then clip
          and SGD from training/optim.py, float64, 1 BLAS thread;
- numpy : this project's trainer, `training.windows.run_epoch` (an epoch of the loop of
          training/fit.py) over random windows, float32, 1 BLAS thread at batch 1 and every
          core above (as training/cli.py sets them);
- public: the public `model.rnn.loss_and_grads` called one window at a time without a
          workspace, then the same clip and SGD, float32, 1 BLAS thread: what any other caller
          of the training step gets;
- torch : `nn.RNN(nonlinearity="relu")` + `nn.Linear`, forward, backward and `optim.SGD`
          on the CPU with `torch.set_num_threads(2)`.

Each worker warms up, then times several rounds and reports the best and the median round:
the best is the machine's speed, the median shows how much another process disturbed it.

python -m bench.training_step [--seconds S]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench.machine import Contention
from bench.workers import run_json

SHAPE = (27, 400, 27)
SEQ_LENGTH = 10
LEARNING_RATE, CLIP = 1e-3, 5.0
ROUNDS = 5


@dataclass(frozen=True)
class Config:
    implementation: str
    batch: int
    threads: int  # BLAS (or PyTorch intra-op) threads
    note: str = ""

    @property
    def key(self) -> str:
        return f"{self.implementation} {self.batch}{' ' + self.note if self.note else ''}"

    @property
    def label(self) -> str:
        name = {"plain": "reference", "numpy": "ours", "public": "loss_and_grads", "torch": "PyTorch"}[
            self.implementation
        ]
        threads = f"{self.threads} thread{'s' * (self.threads > 1)}"
        return f"{name}, batch {self.batch}, {threads}{', ' + self.note if self.note else ''}"


def configs() -> list[Config]:
    """Ours as training/cli.py runs it (1 BLAS thread at batch 1, every core above), plus
    batch 256 with a single-threaded BLAS, where the trainer splits each minibatch across
    the cores (training.windows.shard_count)."""
    cores = os.cpu_count() or 1
    return [
        Config("plain", 1, 1),
        Config("numpy", 1, 1),
        Config("public", 1, 1),
        Config("torch", 1, 2),
        Config("numpy", 256, cores),
        Config("numpy", 256, 1, f"{cores} shards"),
        Config("torch", 256, 2),
    ]


def numpy_epoch(batch: int) -> tuple[Callable[[], None], int]:
    """One call of the trainer's run_epoch over 256 windows (batch 1) or 8 batches."""
    import numpy as np

    from model.rnn import init_params
    from training.optim import SGD, Clipping
    from training.windows import run_epoch

    windows = 256 if batch == 1 else 8 * batch
    rng = np.random.default_rng(0)
    inputs = rng.integers(0, SHAPE[0], (windows, SEQ_LENGTH))
    targets = rng.integers(0, SHAPE[2], (windows, SEQ_LENGTH))
    params = init_params(*SHAPE, seed=0, dtype=np.float32)

    def step() -> None:
        run_epoch(params, inputs, targets, LEARNING_RATE, batch, rng, SGD(), Clipping(value=CLIP))

    return step, windows


def plain_epoch(batch: int) -> tuple[Callable[[], None], int]:
    """The reference over 32 windows, one update per window whatever `batch` says."""
    import numpy as np

    from model import rnn_reference
    from model.rnn import init_params
    from training.optim import SGD, clip_values

    rng = np.random.default_rng(0)
    inputs = rng.integers(0, SHAPE[0], (32, SEQ_LENGTH))
    targets = rng.integers(0, SHAPE[2], (32, SEQ_LENGTH))
    params = init_params(*SHAPE, seed=0, dtype=np.float64)
    sgd = SGD()

    def step() -> None:
        for window in range(inputs.shape[0]):
            part = slice(window, window + 1)
            _, grads = rnn_reference.loss_and_grads(params, inputs[part], targets[part])
            clip_values(grads, CLIP)
            sgd.step(params, grads, LEARNING_RATE)

    return step, inputs.shape[0]


def public_epoch(batch: int) -> tuple[Callable[[], None], int]:
    """model.rnn.loss_and_grads over 256 windows, one update per window, no workspace."""
    import numpy as np

    from model.rnn import init_params, loss_and_grads
    from training.optim import SGD, clip_values

    rng = np.random.default_rng(0)
    inputs = rng.integers(0, SHAPE[0], (256, SEQ_LENGTH))
    targets = rng.integers(0, SHAPE[2], (256, SEQ_LENGTH))
    params = init_params(*SHAPE, seed=0, dtype=np.float32)
    sgd = SGD()

    def step() -> None:
        for window in range(inputs.shape[0]):
            part = slice(window, window + 1)
            _, grads = loss_and_grads(params, inputs[part], targets[part])
            clip_values(grads, CLIP)
            sgd.step(params, grads, LEARNING_RATE)

    return step, inputs.shape[0]


def torch_epoch(batch: int) -> tuple[Callable[[], None], int]:
    """PyTorch's RNN on one-hot inputs: 256 windows (batch 1) or 8 batches per call."""
    import torch

    torch.set_num_threads(2)
    torch.manual_seed(0)
    rnn = torch.nn.RNN(SHAPE[0], SHAPE[1], nonlinearity="relu", batch_first=True)
    linear = torch.nn.Linear(SHAPE[1], SHAPE[2])
    parameters = [*rnn.parameters(), *linear.parameters()]
    optimiser = torch.optim.SGD(parameters, lr=LEARNING_RATE)
    windows = 256 if batch == 1 else 8 * batch
    inputs = torch.randint(0, SHAPE[0], (windows, SEQ_LENGTH))
    targets = torch.randint(0, SHAPE[2], (windows, SEQ_LENGTH))
    one_hot = torch.eye(SHAPE[0])

    def update(x: Any, y: Any) -> None:
        optimiser.zero_grad(set_to_none=True)
        hidden, _ = rnn(one_hot[x])
        logits = linear(hidden).reshape(-1, SHAPE[2])
        loss = torch.nn.functional.cross_entropy(logits, y.reshape(-1), reduction="sum") / x.shape[0]
        loss.backward()
        torch.nn.utils.clip_grad_value_(parameters, CLIP)
        optimiser.step()

    def step() -> None:
        for first in range(0, windows, batch):
            update(inputs[first : first + batch], targets[first : first + batch])

    return step, windows


IMPLEMENTATIONS = {"plain": plain_epoch, "numpy": numpy_epoch, "public": public_epoch, "torch": torch_epoch}


def time_rounds(step: Callable[[], None], samples_per_call: int, seconds: float) -> dict[str, Any]:
    """Warm up, then ROUNDS rounds of seconds / ROUNDS each; samples per second per round."""
    warm_until = time.perf_counter() + min(1.0, seconds / 4)
    while time.perf_counter() < warm_until:
        step()
    rates = []
    for _ in range(ROUNDS):
        calls, started = 0, time.perf_counter()
        while calls == 0 or time.perf_counter() - started < seconds / ROUNDS:
            step()
            calls += 1
        rates.append(calls * samples_per_call / (time.perf_counter() - started))
    cpu = time.process_time()
    return {"best": max(rates), "median": statistics.median(rates), "rates": rates, "cpu_seconds": cpu}


def worker(implementation: str, batch: int, seconds: float) -> dict[str, Any]:
    step, samples = IMPLEMENTATIONS[implementation](batch)
    return time_rounds(step, samples, seconds)


def torch_installed() -> bool:
    return importlib.util.find_spec("torch") is not None


def measure_all(seconds: float, only: set[str] | None = None) -> dict[Config, dict[str, Any]]:
    """Every configuration, one subprocess each, in a fixed order (PyTorch's if installed)."""
    results = {}
    for config in configs():
        if only is not None and config.implementation not in only:
            continue
        if config.implementation == "torch" and not torch_installed():
            continue
        arguments = [
            "--worker",
            config.implementation,
            "--batch",
            str(config.batch),
            "--seconds",
            str(seconds),
        ]
        with Contention() as other:
            result = run_json("bench.training_step", arguments, config.threads, timeout=30 * seconds + 60)
        results[config] = {**result, "others_cpu": other.share(result["cpu_seconds"])}
    return results


def report(results: dict[Config, dict[str, Any]]) -> list[str]:
    """The table of samples/s and the ratios the goals are stated in."""
    lines = [f"{'configuration':44s} {'best samples/s':>15s} {'median':>10s} {'others CPU':>10s}"]
    by_key = {config.key: result for config, result in results.items()}
    for config, result in results.items():
        rates = f"{result['best']:15,.0f} {result['median']:10,.0f}"
        lines.append(f"{config.label:44s} {rates} {result['others_cpu']:10.0%}")
    cores = os.cpu_count() or 1
    for numerator, denominator, goal, what in [
        ("numpy 1", "plain 1", 4.0, "batch 1, ours / plain loop"),
        ("public 1", "plain 1", 4.0, "batch 1, loss_and_grads without a workspace / plain loop"),
        ("public 1", "numpy 1", 0.95, "batch 1, loss_and_grads without a workspace / ours"),
        ("numpy 256", "torch 256", 1.0, "batch 256, ours as the CLI runs it / PyTorch"),
        (f"numpy 256 {cores} shards", "torch 256", 1.0, f"batch 256, ours in {cores} shards / PyTorch"),
        ("numpy 1", "torch 1", None, "batch 1, ours / PyTorch (no goal)"),
    ]:
        if numerator in by_key and denominator in by_key:
            best = by_key[numerator]["best"] / by_key[denominator]["best"]
            median = by_key[numerator]["median"] / by_key[denominator]["median"]
            verdict = "" if goal is None else f", goal >= {goal:g}x: {'met' if best >= goal else 'MISSED'}"
            lines.append(f"{what}: {best:.2f}x (medians {median:.2f}x){verdict}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.training_step", description=__doc__)
    parser.add_argument("--seconds", type=float, default=6.0, help="timed seconds per configuration")
    parser.add_argument("--worker", choices=sorted(IMPLEMENTATIONS), help=argparse.SUPPRESS)
    parser.add_argument("--batch", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.worker, args.batch, args.seconds)))
        return 0
    if not torch_installed():
        print("PyTorch is not installed (pip install -e '.[bench]'): its rows are skipped")
    print("\n".join(report(measure_all(args.seconds))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
