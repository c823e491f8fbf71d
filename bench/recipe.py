"""Benchmark 2: the assignment's recipe end to end, as `make train` runs it.

Wall time of `python -m training --corpus C --out <tmp> --force --no-progress` (15 epochs of
5000 windows, batch 1, with the per-epoch accuracy measurement), its final accuracies, and the
plain loop's time for the same 75,000 updates, estimated from its samples per second (an
estimate: the loop is not run for five minutes or more).

python -m bench.recipe [--plain-rate SAMPLES_PER_S]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.machine import Contention
from bench.workers import REPOSITORY, environment
from model.blas import THREAD_VARIABLES

UPDATES = 15 * 5000
GOAL_SECONDS = 60.0
EPOCH_LINE = re.compile(r"epoch\s+(\d+)/\d+.*train ([\d.]+)%\s+test ([\d.]+)%\s+([\d.]+)s")


def corpus_path() -> Path | None:
    """$CHAR_RNN_CORPUS or the trainer's default path, if the file is there."""
    path = Path(os.environ.get("CHAR_RNN_CORPUS") or REPOSITORY / "data" / "origin_of_species.txt")
    return path if path.is_file() else None


def run_recipe(corpus: Path) -> dict[str, Any]:
    """The CLI in a subprocess; the CLI itself picks its BLAS threads, so none are pinned here."""
    env = {key: value for key, value in environment().items() if key not in THREAD_VARIABLES}
    with tempfile.TemporaryDirectory(prefix="bench-recipe-") as tmp:
        out = Path(tmp) / "artifact"
        command = [sys.executable, "-m", "training", "--corpus", str(corpus), "--out", str(out)]
        own_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        with Contention() as other:
            started = time.perf_counter()
            completed = subprocess.run(
                [*command, "--force", "--no-progress"],
                cwd=REPOSITORY,
                env=env,
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
            )
            seconds = time.perf_counter() - started
        own_after = resource.getrusage(resource.RUSAGE_CHILDREN)
        own_cpu = sum(getattr(own_after, f) - getattr(own_before, f) for f in ("ru_utime", "ru_stime"))
        if completed.returncode != 0:
            raise RuntimeError(f"the training CLI failed:\n{completed.stderr[-2000:]}")
        manifest = json.loads((out / "manifest.json").read_text())
    epochs = [match.groups() for match in EPOCH_LINE.finditer(completed.stdout)]
    return {
        "wall_seconds": seconds,
        "others_cpu": other.share(own_cpu),
        "training_seconds": manifest["training_seconds"],
        "epoch_seconds": [float(epoch[3]) for epoch in epochs],
        "train_accuracy": manifest["metrics"]["train"]["accuracy"],
        "test_accuracy": manifest["metrics"]["test"]["accuracy"],
    }


def report(result: dict[str, Any], plain_rate: float | None) -> list[str]:
    seconds = result["wall_seconds"]
    epochs = result["epoch_seconds"]
    lines = [
        f"wall time {seconds:.1f} s (training loop with per-epoch evaluation "
        f"{result['training_seconds']:.1f} s; epochs {min(epochs):.1f}-{max(epochs):.1f} s), "
        f"goal < {GOAL_SECONDS:.0f} s: {'met' if seconds < GOAL_SECONDS else 'MISSED'}",
        f"other processes used {result['others_cpu']:.0%} of the cores meanwhile",
        f"accuracy after epoch 15: train {result['train_accuracy']:.1%}, "
        f"test {result['test_accuracy']:.1%} (the assignment's recipe: about 97% and 31%)",
    ]
    if plain_rate:
        estimate = UPDATES / plain_rate
        lines.append(
            f"plain loop, estimated: {UPDATES:,} updates / {plain_rate:,.0f} samples/s = {estimate:.0f} s "
            f"without evaluation; ours is {estimate / seconds:.1f}x faster"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.recipe", description=__doc__)
    parser.add_argument("--plain-rate", type=float, default=None, help="plain loop samples/s, if known")
    args = parser.parse_args(argv)
    corpus = corpus_path()
    if corpus is None:
        print("skipped: no corpus (set CHAR_RNN_CORPUS to origin_of_species.txt)")
        return 0
    print("\n".join(report(run_recipe(corpus), args.plain_rate)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
