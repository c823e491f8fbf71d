"""python -m bench [--only training|recipe|serving|arithmetic ...]: every benchmark in turn, with the
machine's description, each figure next to its goal."""

from __future__ import annotations

import argparse
import time

from bench import arithmetic, machine, recipe, serving, training_step
from model.artifact import DEFAULT_ARTIFACT

SECTIONS = ("training", "recipe", "serving", "arithmetic")


def heading(title: str) -> None:
    print(f"\n== {title} ==", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--only", action="append", choices=SECTIONS, help="run only this (repeatable)")
    parser.add_argument("--seconds", type=float, default=6.0, help="timed seconds per training configuration")
    parser.add_argument("--serving-seconds", type=float, default=5.0, help="seconds per load run")
    parser.add_argument("--artifact", default=str(DEFAULT_ARTIFACT))
    args = parser.parse_args(argv)
    chosen = set(args.only or SECTIONS)
    started = time.perf_counter()
    heading("machine")
    print("\n".join(machine.describe()))
    plain_rate = None
    if "training" in chosen:
        heading("1. training step, 27-400-27, seq_length 10 (samples/s)")
        if not training_step.torch_installed():
            print("PyTorch is not installed (pip install -e '.[bench]'): its rows are skipped")
        results = training_step.measure_all(args.seconds)
        print("\n".join(training_step.report(results)), flush=True)
        plain_rate = next(r["best"] for c, r in results.items() if c.implementation == "plain")
    if "recipe" in chosen:
        heading("2. the assignment's recipe end to end (python -m training, 15 epochs)")
        corpus = recipe.corpus_path()
        if corpus is None:
            print("skipped: no corpus (set CHAR_RNN_CORPUS to origin_of_species.txt)")
        else:
            if plain_rate is None:
                plain_rate = training_step.measure_all(3.0, only={"plain"}).popitem()[1]["best"]
            print("\n".join(recipe.report(recipe.run_recipe(corpus), plain_rate)), flush=True)
    if "serving" in chosen:
        heading("3 and 4. serving: python -m service under load, and its peak memory")
        print("\n".join(serving.report(serving.measure(args.serving_seconds, args.artifact))), flush=True)
    if "arithmetic" in chosen:
        heading("5. the default model served at the speed of its arithmetic (ratios to its bare LSTM step)")
        print("\n".join(arithmetic.report(arithmetic.measure(args.serving_seconds))), flush=True)
    heading("done")
    print(f"{time.perf_counter() - started:.0f} s in all; load average now {machine.load_average()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
