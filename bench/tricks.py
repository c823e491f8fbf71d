"""What each optimisation of model/rnn.py and training/windows.py buys: the same call timed with
the trick on and off, in alternating rounds so that a busy machine slows both alike.

A trick stays in the code only where it saves at least 5% of the call it targets (the ones
that did not are listed in docs/performance.md); the "control" rows time the same code twice
and show the noise. 1 BLAS thread throughout.

python -m bench.tricks [--rounds N] [--seconds S]
"""

from __future__ import annotations

import argparse
import contextlib
import os
from collections.abc import Callable, Iterator
from typing import Any

from model.blas import set_default_threads

SHAPE, SEQ_LENGTH, LEARNING_RATE, CLIP = (27, 400, 27), 10, 1e-3, 5.0


@contextlib.contextmanager
def patched(module: Any, name: str, value: Any) -> Iterator[None]:
    original = getattr(module, name)
    setattr(module, name, value)
    try:
        yield
    finally:
        setattr(module, name, original)


def added_at(x: Any, da_flat: Any, n_in: int) -> Any:
    """dU transposed as the reference sums it: np.add.at."""
    import numpy as np

    dU_T = np.zeros((n_in, da_flat.shape[1]), dtype=da_flat.dtype)
    np.add.at(dU_T, x, da_flat)
    return dU_T


def training_step(batch: int, workspace: bool = True) -> Callable[[], None]:
    """One update as run_epoch makes it: gradients, clip to +-5, SGD; float32."""
    import numpy as np

    from model import rnn
    from training.optim import SGD, clip_values

    rng = np.random.default_rng(0)
    params = rnn.init_params(*SHAPE, seed=0, dtype=np.float32)
    inputs, targets = (rng.integers(0, 27, (batch, SEQ_LENGTH)) for _ in range(2))
    space, sgd = rnn.Workspace(), SGD()

    def step() -> None:
        # Without the trick every array is allocated anew: a fresh Workspace per step.
        _, grads = rnn.loss_and_grads(params, inputs, targets, space if workspace else rnn.Workspace())
        clip_values(grads, CLIP)
        sgd.step(params, grads, LEARNING_RATE)

    return step


def sharded_step(shards: int) -> Callable[[], None]:
    """A batch-256 update with its gradients from `shards` threads."""
    import numpy as np

    from model import rnn
    from training.optim import SGD, clip_values
    from training.windows import ShardedGradients

    rng = np.random.default_rng(0)
    params = rnn.init_params(*SHAPE, seed=0, dtype=np.float32)
    inputs, targets = (rng.integers(0, 27, (256, SEQ_LENGTH)) for _ in range(2))
    source, sgd = ShardedGradients(shards), SGD()

    def step() -> None:
        _, grads = source(params, inputs, targets)
        clip_values(grads, CLIP)
        sgd.step(params, grads, LEARNING_RATE)

    return step


def inference(batch: int) -> Callable[[], None]:
    import numpy as np

    from model import rnn

    params = rnn.init_params(*SHAPE, seed=0, dtype=np.float32)
    windows = np.random.default_rng(1).integers(0, 27, (batch, 16))

    def call() -> None:
        rnn.next_char_probabilities(params, windows)

    return call


def cases() -> list[tuple[str, Callable[[], None], Callable[[], None], Callable[[], Any]]]:
    """(what, with the trick, without it, the context that turns it off)."""
    from model import rnn

    none = contextlib.nullcontext
    return [
        ("control: batch 1, same code twice", training_step(1), training_step(1), none),
        ("control: batch 256, same code twice", training_step(256), training_step(256), none),
        ("Workspace, batch 1", training_step(1), training_step(1, workspace=False), none),
        ("Workspace, batch 256", training_step(256), training_step(256, workspace=False), none),
        ("dU sorted + reduceat vs np.add.at, batch 256", training_step(256), training_step(256),
         lambda: patched(rnn, "_input_gradient_T", added_at)),
        ("first-product table, batch 256", training_step(256), training_step(256),
         lambda: patched(rnn, "FIRST_PRODUCT_TABLE", False)),
        ("first-product table, inference 1000 windows", inference(1000), inference(1000),
         lambda: patched(rnn, "FIRST_PRODUCT_TABLE", False)),
        ("2 shards of 1 BLAS thread, batch 256", sharded_step(2), sharded_step(1), none),
    ]  # fmt: skip


def seconds_per_call(call: Callable[[], None], seconds: float) -> float:
    import time

    calls, started = 0, time.perf_counter()
    while calls == 0 or time.perf_counter() - started < seconds:
        call()
        calls += 1
    return (time.perf_counter() - started) / calls


def compare(on: Callable[[], None], off: Callable[[], None], context: Callable[[], Any], rounds: int,
            seconds: float) -> tuple[float, float]:  # fmt: skip
    """Best seconds per call with the trick and without, over alternating rounds."""
    with_trick, without = [], []
    for _ in range(rounds):
        with_trick.append(seconds_per_call(on, seconds))
        with context():
            without.append(seconds_per_call(off, seconds))
    return min(with_trick), min(without)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.tricks", description=__doc__)
    parser.add_argument("--rounds", type=int, default=15, help="alternating rounds per trick")
    parser.add_argument("--seconds", type=float, default=0.2, help="seconds per round")
    parser.add_argument("--only", default="", help="only the rows whose name contains this text")
    args = parser.parse_args(argv)
    set_default_threads(1)
    print(f"{'trick, and the call it targets':48s} {'with':>10s} {'without':>10s} {'gain':>7s}")
    for what, on, off, context in cases():
        if args.only not in what:
            continue
        with_trick, without = compare(on, off, context, args.rounds, args.seconds)
        gain = 1 - with_trick / without
        print(f"{what:48s} {with_trick * 1e3:8.3f}ms {without * 1e3:8.3f}ms {gain:7.1%}", flush=True)
    print(f"load average at the end: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
