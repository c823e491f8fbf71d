"""uvicorn's event loop and HTTP parser compared: asyncio or uvloop, h11 or httptools.

Each variant serves the committed models in its own process (one worker, as `python -m
service` builds the app), and wrk loads GET /health and POST /predict-next (a new 16-letter
text per request) in turn, variants alternating round by round so that load from other
processes slows each alike. Prints one line per variant and route: the best and median
requests per second over the rounds, and the p99 of the best round.

The service's connection guard (service.connections: header timeout, MAX_CONNECTIONS) is an
h11 protocol subclass; the httptools variant runs without it and is measured for comparison
only.

python -m bench.event_loops [--seconds 4] [--rounds 3] [--connections 16]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from typing import Any

import httpx

from tests.utils.server import REPO_ROOT, free_port, service_env

VARIANTS = {
    "asyncio + h11 (guarded)": ("asyncio", "guarded"),
    "uvloop + h11 (guarded)": ("uvloop", "guarded"),
    "uvloop + httptools (unguarded)": ("uvloop", "httptools"),
}
SERVE = """
import sys, uvicorn
from service.app import create_app
from service.connections import guarded_protocol
from service.settings import load_settings
settings = load_settings()
loop, http = sys.argv[1], sys.argv[2]
guarded = guarded_protocol(settings.header_timeout_seconds, settings.max_connections)
protocol = guarded if http == "guarded" else http
uvicorn.run(create_app(settings), host="127.0.0.1", port=settings.port, loop=loop, http=protocol,
            log_level="warning", access_log=False, log_config=None)
"""
SCENARIO = REPO_ROOT / "bench" / "wrk" / "scenario.lua"


def wrk(url: str, seconds: float, connections: int, method: str, body: str) -> dict[str, Any]:
    env = {**os.environ, "BENCH_METHOD": method, "BENCH_BODY": body}
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "-s", str(SCENARIO), url]
    output = subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout
    line = next(line for line in output.splitlines() if line.startswith("{"))
    result: dict[str, Any] = json.loads(line)
    return result


def start(loop: str, http: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = service_env(None, port, LOG_LEVEL="warning", OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    process = subprocess.Popen([sys.executable, "-c", SERVE, loop, http], cwd=REPO_ROOT, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/health/ready", timeout=1.0).status_code == 200:
                return process, url
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"{loop} + {http} did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt-get install wrk")
    routes = {
        "GET /health": ("/health", "GET", "fixed"),
        "POST /predict-next": ("/predict-next", "POST", "distinct"),
    }
    results: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for _ in range(args.rounds):
        for name, (loop, http) in VARIANTS.items():
            process, url = start(loop, http)
            try:
                for route, (path, method, body) in routes.items():
                    run = wrk(url + path, args.seconds, args.connections, method, body)
                    results.setdefault((name, route), []).append(run)
            finally:
                process.terminate()
                process.wait(timeout=30)
    for (name, route), runs in results.items():
        rates = [run["requests"] / run["seconds"] for run in runs]
        best = max(runs, key=lambda run: run["requests"] / run["seconds"])
        print(
            f"{name:32} {route:20} best {max(rates):7.0f} req/s, median {statistics.median(rates):7.0f}, "
            f"p99 {best['p99_ms']:.1f} ms, errors {sum(run['errors'] for run in runs)}"
        )


if __name__ == "__main__":
    main()
