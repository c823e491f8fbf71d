"""Serving at the speed of the arithmetic: each serving goal as a ratio to the bare LSTM step
of the served default model, timed in the same run.

- S1: one step of the default model's LSTM for one row, a plain NumPy loop (the gates from
  the input row and h, the sigmoids and tanh, s and h), one BLAS thread, as the service runs.
- SB: the same per row, for blocks of B = 128 rows.

Then a real `python -m service` serving every committed artifact (both models, as `make
serve` does) on a free 127.0.0.1 port, driven from this process:

1. /generate, one stream of MAX_GENERATE characters: characters per second against S1.
2. POST /accuracy on 100,000 characters (MAX_TEXT_CHARS): positions per second against S1;
   the adaptive mode on 10,000 characters against S1 too.
3. /predict-next/batch with 1,000 new texts of 40 letters: the SB arithmetic those texts
   need (40,000 row-steps) against the wall time.
4. Cold /predict-next (a new text each time, wrk or bench/loadgen.py, 16 connections) against
   GET /health's requests per second in the same run; p99.
5. Typing: a 10,000-character document sent again after each new character; each answer's
   time against a /predict-next on a new 16-character text.
6. Peak RSS (VmHWM) of the server after all of the above.

python -m bench.arithmetic [--seconds S]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from bench.serving import HEALTH, PREDICT_NEW, drive, memory_kb, running_server, verdict
from model.artifact import load
from model.numerics import sigmoid
from service.schemas import MAX_GENERATE

BLOCK = 128
TEXT_CHARS = 100_000
ADAPTIVE_CHARS = 10_000
BATCH_TEXTS, BATCH_LETTERS = 1000, 40
TYPED_CHARS, TYPED_REQUESTS = 10_000, 200
GOALS = {"generate": 0.5, "accuracy": 0.5, "adaptive": 0.15, "batch": 0.5, "cold": 0.5}
MEMORY_GOAL_MB = 300


def bare_step_seconds(params: dict[str, np.ndarray], rows: int, seconds: float) -> float:
    """Seconds per step of the plain LSTM loop for `rows` rows, best of a few timed runs."""
    W_T = np.ascontiguousarray(params["W"].T)
    H = W_T.shape[0]
    rng = np.random.default_rng(0)
    x_rows = (params["U"].T + params["b"])[rng.integers(0, params["U"].shape[1], (64, rows))]
    h = np.zeros((rows, H), W_T.dtype)
    s = np.zeros_like(h)
    best = float("inf")
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        started, steps = time.perf_counter(), 0
        for t in range(64):
            a = x_rows[t] + h @ W_T
            f, i, o = sigmoid(a[:, :H]), sigmoid(a[:, H : 2 * H]), sigmoid(a[:, 2 * H : 3 * H])
            s = f * s + i * np.tanh(a[:, 3 * H :])
            h = o * np.tanh(s)
            steps += 1
        best = min(best, (time.perf_counter() - started) / steps)
    return best


def words(count: int, seed: int) -> str:
    """Plain English-like text: the corpus if CHAR_RNN_CORPUS is set, else random letters."""
    corpus = os.environ.get("CHAR_RNN_CORPUS")
    if corpus and Path(corpus).is_file():
        text = Path(corpus).read_text(encoding="utf-8", errors="replace")
        start = random.Random(seed).randrange(0, max(1, len(text) - count))
        return text[start : start + count]
    rng = random.Random(seed)
    return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz     ") for _ in range(count))


def letters(rng: random.Random, count: int) -> str:
    return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(count))


def timed_post(client: httpx.Client, path: str, body: dict[str, Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    response = client.post(path, json=body)
    elapsed = time.perf_counter() - started
    response.raise_for_status()
    return elapsed, response.json()


def measure(seconds: float) -> dict[str, Any]:
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as scratch:
        with running_server(None, Path(scratch) / "server.log") as server:
            with httpx.Client(base_url=server.base_url, timeout=600) as client:
                default = next(m for m in client.get("/models").json()["models"] if m["default"])
                model = load(Path("artifacts") / default["name"])
                results["model"] = default["name"]
                results["s1"] = bare_step_seconds(model.params, 1, seconds)
                results["sb"] = bare_step_seconds(model.params, BLOCK, seconds) / BLOCK
                s1_rate = 1 / results["s1"]
                elapsed, body = timed_post(
                    client, "/generate", {"text": "the origin of species", "n": MAX_GENERATE}
                )
                results["generate"] = len(body["continuation"]) / elapsed / s1_rate
                text = words(TEXT_CHARS, 1)
                elapsed, body = timed_post(client, "/accuracy", {"text": text})
                results["accuracy"] = body["total"] / elapsed / s1_rate
                elapsed, body = timed_post(
                    client, "/accuracy", {"text": text[:ADAPTIVE_CHARS], "adapt": True}
                )
                results["adaptive"] = body["total"] / elapsed / s1_rate
                rng = random.Random(2)
                texts = [letters(rng, BATCH_LETTERS) for _ in range(BATCH_TEXTS)]
                elapsed, _ = timed_post(client, "/predict-next/batch", {"texts": texts, "top_k": 1})
                results["batch"] = BATCH_TEXTS * BATCH_LETTERS * results["sb"] / elapsed
                document = words(TYPED_CHARS, 3)
                timed_post(client, "/predict-next", {"text": document})
                typed = []
                for _ in range(TYPED_REQUESTS):  # each request: the previous text and one more letter
                    document += letters(rng, 1)
                    typed.append(timed_post(client, "/predict-next", {"text": document})[0])
                short = [
                    timed_post(client, "/predict-next", {"text": letters(rng, 16)})[0] for _ in range(100)
                ]
                results["typing_max_ratio"] = max(typed) / statistics.median(short)
                results["typing_p99_ratio"] = sorted(typed)[int(0.99 * len(typed)) - 1] / statistics.median(
                    short
                )
            health = drive(server, HEALTH, 16, seconds)
            cold = drive(server, PREDICT_NEW, 16, seconds)
            results["cold"] = cold["per_second"] / health["per_second"]
            results["cold_p99_ms"] = cold["p99_ms"]
            results["cold_per_second"], results["health_per_second"] = (
                cold["per_second"],
                health["per_second"],
            )
            results["peak_rss_mb"] = memory_kb(server.process.pid, "VmHWM") / 1024
    return results


def report(results: dict[str, Any]) -> list[str]:
    s1, sb = results["s1"], results["sb"]
    lines = [
        f"default model {results['model']}: S1 = {s1 * 1e6:.1f} us per step for one row "
        f"({1 / s1:,.0f} steps/s); SB = {sb * 1e6:.1f} us per row in blocks of {BLOCK}",
    ]
    for key, label in (
        ("generate", "1. /generate, one stream, characters/s against S1"),
        ("accuracy", f"2. POST /accuracy, {TEXT_CHARS:,} characters, positions/s against S1"),
        ("adaptive", f"2. POST /accuracy adapt, {ADAPTIVE_CHARS:,} characters, positions/s against S1"),
        (
            "batch",
            f"3. /predict-next/batch, {BATCH_TEXTS} new texts of {BATCH_LETTERS}: SB arithmetic / wall",
        ),
        ("cold", "4. cold /predict-next against GET /health, requests/s (16 connections)"),
    ):
        goal = GOALS[key]
        lines.append(f"{label}: {results[key]:.1%} (goal >= {goal:.0%}: {verdict(results[key] >= goal)})")
    lines.append(
        f"4. cold /predict-next: {results['cold_per_second']:,.0f} req/s against /health's "
        f"{results['health_per_second']:,.0f}; p99 {results['cold_p99_ms']:.1f} ms "
        f"(goal < 50 ms: {verdict(results['cold_p99_ms'] < 50)})"
    )
    lines.append(
        f"5. typing into {TYPED_CHARS:,} characters: slowest of {TYPED_REQUESTS} answers "
        f"{results['typing_max_ratio']:.2f}x a new 16-character /predict-next, p99 "
        f"{results['typing_p99_ratio']:.2f}x (goal <= 2x: {verdict(results['typing_max_ratio'] <= 2)})"
    )
    lines.append(
        f"7. peak RSS with both models after all of it: {results['peak_rss_mb']:.0f} MB "
        f"(goal < {MEMORY_GOAL_MB} MB: {verdict(results['peak_rss_mb'] < MEMORY_GOAL_MB)})"
    )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.arithmetic", description=__doc__)
    parser.add_argument("--seconds", type=float, default=3.0, help="seconds per timed loop and load run")
    args = parser.parse_args(argv)
    print("\n".join(report(measure(args.seconds))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
