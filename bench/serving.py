"""Benchmarks 3 and 4: the running service under load, and its peak memory.

Starts `python -m service` on a free 127.0.0.1 port (CHAR_RNN_ARTIFACT, default
artifacts/char-rnn-assignment), then drives it from a separate process: wrk with
bench/wrk/scenario.lua where wrk is installed (Debian's package), else bench/loadgen.py
(async httpx). Loopback only; every run is bounded in seconds.

- GET /health and POST /predict-next side by side, at 16 and 64 connections. /predict-next
  runs twice: with a new random window per request (the model runs every time: the
  service's ranking cache never hits) and with one repeated text (the cache answers).
- POST /predict-next/batch with 1000 random texts per request: predictions per second.
- model.rnn.next_char_probabilities called directly on 1000 windows, with one BLAS thread
  as the service runs it, from one thread and from two at once.
- VmHWM of the server process at the end: its peak resident memory.

python -m bench.serving [--seconds S]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.machine import Contention, load_average
from bench.workers import REPOSITORY, environment, run_json
from model.artifact import DEFAULT_ARTIFACT
from tests.utils.server import ServerProcess
from tests.utils.server import running_server as tests_running_server

LUA_SCRIPT = REPOSITORY / "bench" / "wrk" / "scenario.lua"
BATCH_TEXTS = 1000
REPEATED_JSON = '{"text": "harles dar", "top_k": 5}'


@dataclass(frozen=True)
class Scenario:
    label: str
    path: str
    method: str = "GET"
    body: str = "fixed"
    fixed_json: str = ""


HEALTH = Scenario("GET /health", "/health")
PREDICT_NEW = Scenario("POST /predict-next, new window each", "/predict-next", "POST", "distinct")
PREDICT_REPEATED = Scenario("POST /predict-next, one window", "/predict-next", "POST", "fixed", REPEATED_JSON)
BATCH = Scenario(f"POST /predict-next/batch, {BATCH_TEXTS} texts", "/predict-next/batch", "POST", "batch")


@contextlib.contextmanager
def running_server(
    artifact: str | None, log: Path, workers: int = 1, **extra_env: str
) -> Iterator[ServerProcess]:
    """The tests' `python -m service` process, stopped with SIGTERM so that it shuts down as deployed."""
    with tests_running_server(
        artifact, log, stop_signal=signal.SIGTERM, timeout=60, WORKERS=str(workers)
    ) as server:
        yield server


def load_generator() -> str:
    return "wrk" if shutil.which("wrk") else "httpx"


def drive(server: ServerProcess, scenario: Scenario, connections: int, seconds: float) -> dict[str, Any]:
    """One bounded load run from a separate process; the JSON line it printed."""
    url = server.base_url + scenario.path
    if load_generator() == "wrk":
        command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "-s", str(LUA_SCRIPT), url]
        env = environment(
            BENCH_METHOD=scenario.method,
            BENCH_BODY=scenario.body,
            BENCH_JSON=scenario.fixed_json,
            BENCH_BATCH=str(BATCH_TEXTS),
        )
    else:
        command = [sys.executable, "-m", "bench.loadgen", "--url", url, "--method", scenario.method]
        command += ["--body", scenario.body, "--json", scenario.fixed_json, "--batch", str(BATCH_TEXTS)]
        command += ["--connections", str(connections), "--seconds", str(seconds)]
        env = environment()
    server_before, children_before = process_cpu_seconds(server.process.pid), children_cpu_seconds()
    with Contention() as other:
        completed = subprocess.run(
            command, cwd=REPOSITORY, env=env, capture_output=True, text=True, timeout=seconds + 60, check=True
        )
    own = process_cpu_seconds(server.process.pid) - server_before + children_cpu_seconds() - children_before
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    result["per_second"] = result["requests"] / result["seconds"]
    result["others_cpu"] = other.share(own)
    return result


def process_cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds of a running process, from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def memory_kb(pid: int, field: str) -> int:
    """A VmHWM / VmRSS line of /proc/<pid>/status, in kB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"/proc/{pid}/status has no {field}")


def predictions_per_second(params: Any, windows: Any, threads: int, seconds: float) -> float:
    """next_char_probabilities on `windows` from `threads` threads at once, for `seconds`."""
    import threading

    from model.rnn import next_char_probabilities

    counts = [0] * threads
    deadline = time.perf_counter() + seconds

    def work(slot: int) -> None:
        while time.perf_counter() < deadline:
            next_char_probabilities(params, windows)
            counts[slot] += len(windows)

    started = time.perf_counter()
    workers = [threading.Thread(target=work, args=(slot,)) for slot in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return sum(counts) / (time.perf_counter() - started)


def direct_worker(seconds: float) -> dict[str, Any]:
    """next_char_probabilities on BATCH_TEXTS random windows, from 1 and from 2 threads."""
    import numpy as np

    from model.rnn import init_params, next_char_probabilities

    params = init_params(27, 400, 27, seed=0, dtype=np.float32)
    windows = np.random.default_rng(0).integers(0, 27, (BATCH_TEXTS, 10))
    next_char_probabilities(params, windows)
    return {
        f"{threads}_threads": predictions_per_second(params, windows, threads, seconds / 2)
        for threads in (1, 2)
    }


def measure(seconds: float, artifact: str) -> dict[str, Any]:
    """Every serving figure; the server's log goes to a temporary file."""
    results: dict[str, Any] = {"load_generator": load_generator(), "runs": [], "load_before": load_average()}
    with tempfile.TemporaryDirectory(prefix="bench-serving-") as tmp:
        with running_server(artifact, Path(tmp) / "service.log") as server:
            results["rss_after_start_kb"] = memory_kb(server.process.pid, "VmRSS")
            for connections in (16, 64):
                for scenario in (HEALTH, PREDICT_NEW, PREDICT_REPEATED):
                    results["runs"].append(run(server, scenario, connections, seconds, 1))
            for connections in (1, 2):
                results["runs"].append(run(server, BATCH, connections, seconds, 1))
            results["peak_rss_kb"] = memory_kb(server.process.pid, "VmHWM")
        with running_server(artifact, Path(tmp) / "service-2.log", workers=2) as server:
            for connections in (16, 64):
                for scenario in (HEALTH, PREDICT_NEW):
                    results["runs"].append(run(server, scenario, connections, seconds, 2))
            results["runs"].append(run(server, BATCH, 2, seconds, 2))
    results["load_after"] = load_average()
    results["direct"] = run_json(
        "bench.serving", ["--direct", "--seconds", str(seconds)], 1, seconds * 4 + 60
    )
    return results


def run(
    server: ServerProcess, scenario: Scenario, connections: int, seconds: float, workers: int
) -> dict[str, Any]:
    measured = drive(server, scenario, connections, seconds)
    return {"scenario": scenario.label, "connections": connections, "workers": workers, **measured}


def find(results: dict[str, Any], scenario: Scenario, connections: int, workers: int = 1) -> dict[str, Any]:
    return next(
        r
        for r in results["runs"]
        if (r["scenario"], r["connections"], r["workers"]) == (scenario.label, connections, workers)
    )


def report(results: dict[str, Any]) -> list[str]:
    lines = [
        f"load generator: {results['load_generator']} (separate process, 127.0.0.1); load average "
        f"{results['load_before']} before, {results['load_after']} after"
    ]
    columns = (
        ("workers", 7),
        ("conns", 5),
        ("req/s", 9),
        ("p50 ms", 8),
        ("p99 ms", 8),
        ("errors", 6),
        ("others CPU", 10),
    )
    lines.append(f"{'scenario':44s} " + " ".join(f"{name:>{width}s}" for name, width in columns))
    for entry in results["runs"]:
        lines.append(
            f"{entry['scenario']:44s} {entry['workers']:7d} {entry['connections']:5d} "
            f"{entry['per_second']:9,.0f} "
            f"{entry['p50_ms']:8.2f} {entry['p99_ms']:8.2f} {entry['errors']:6d} {entry['others_cpu']:10.0%}"
        )
    lines += goal_lines(results)
    return lines


def verdict(met: bool) -> str:
    return "met" if met else "MISSED"


def goal_lines(results: dict[str, Any]) -> list[str]:
    lines = []
    for connections in (16, 64):
        health = find(results, HEALTH, connections)["per_second"]
        for scenario in (PREDICT_NEW, PREDICT_REPEATED):
            ratio = find(results, scenario, connections)["per_second"] / health
            goal = f"goal >= 80%: {verdict(ratio >= 0.8)}"
            lines.append(f"{scenario.label} / GET /health at {connections}: {ratio:.0%}, {goal}")
    for scenario in (PREDICT_NEW, PREDICT_REPEATED):
        p99 = find(results, scenario, 16)["p99_ms"]
        lines.append(f"{scenario.label}, p99 at 16: {p99:.1f} ms, goal < 20 ms: {verdict(p99 < 20)}")
    batch = max(find(results, BATCH, c)["per_second"] for c in (1, 2)) * BATCH_TEXTS
    lines.append(f"batch endpoint: {batch:,.0f} predictions/s, goal >= 50,000: {verdict(batch >= 50_000)}")
    lines += worker_lines(results)
    for key, label in (("1_threads", "1 thread"), ("2_threads", "2 threads at once")):
        rate = results["direct"][key]
        lines.append(
            f"next_char_probabilities direct, {label}: {rate:,.0f} predictions/s, "
            f"goal >= 50,000: {verdict(rate >= 50_000)}"
        )
    peak_mb = results["peak_rss_kb"] / 1024
    lines.append(f"server RSS after start {results['rss_after_start_kb'] / 1024:.0f} MB")
    lines.append(
        f"server peak RSS (VmHWM) under load: {peak_mb:.0f} MB, goal < 150 MB: {verdict(peak_mb < 150)}"
    )
    return lines


def worker_lines(results: dict[str, Any]) -> list[str]:
    """WORKERS=2 against 1 on the same scenarios (no goal: it shows what a second process buys)."""
    lines = []
    for scenario, connections in (
        (HEALTH, 16),
        (PREDICT_NEW, 16),
        (HEALTH, 64),
        (PREDICT_NEW, 64),
        (BATCH, 2),
    ):
        one, two = (find(results, scenario, connections, workers) for workers in (1, 2))
        lines.append(
            f"{scenario.label} at {connections}: 2 workers {two['per_second']:,.0f}/s against 1 worker "
            f"{one['per_second']:,.0f}/s ({two['per_second'] / one['per_second']:.2f}x), "
            f"p99 {two['p99_ms']:.1f} against {one['p99_ms']:.1f} ms"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.serving", description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0, help="seconds per load run")
    parser.add_argument("--artifact", default=os.environ.get("CHAR_RNN_ARTIFACT", str(DEFAULT_ARTIFACT)))
    parser.add_argument("--direct", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.direct:
        print(json.dumps(direct_worker(args.seconds)))
        return 0
    print("\n".join(report(measure(args.seconds, args.artifact))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
