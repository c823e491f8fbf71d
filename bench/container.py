"""python -m bench.container: the image's build time, size, time to ready and to healthy, and the
drain on `docker stop`, with the figures docs/deployment.md records (`make bench-container`).

Needs a Docker engine and the base image (`.ci/run` sets both up). Containers run on the host's
network, on loopback only, as tests/test_container_run.py runs them.
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from typing import Any

import httpx

from bench.machine import load_average
from tests.utils import docker
from tests.utils.server import free_port

IN_FLIGHT = {"text": "natural selection", "n": 500, "seed": 1}  # /generate: about 2 s of work


def seconds_until_ready(base_url: str, started: float, timeout: float = 120.0) -> float:
    """Seconds from `started` until GET /health/ready answers 200."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base_url}/health/ready", timeout=1.0).status_code == 200:
                return time.monotonic() - started
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"not ready within {timeout} s")


def stop_seconds(container: str) -> float:
    started = time.monotonic()
    docker.docker("stop", container, timeout=docker.STOP_GRACE_SECONDS + 20)
    return time.monotonic() - started


def one_run(in_flight: bool) -> dict[str, float]:
    """Start the image, wait for ready and healthy, then `docker stop` it, idle or mid-request."""
    port = free_port()
    started = time.monotonic()
    with docker.running_container(port) as container:
        ready = seconds_until_ready(container.base_url, started)
        status = docker.wait_for_health(container.id, timeout=120.0)
        healthy = time.monotonic() - started
        assert status == "healthy", docker.logs(container.id)
        figures = {"ready_s": ready, "healthy_s": healthy}
        if not in_flight:
            figures["stop_idle_s"] = stop_seconds(container.id)
        else:
            answered: dict[str, Any] = {}
            url = f"{container.base_url}/generate"
            worker = threading.Thread(
                target=lambda: answered.update(r=httpx.post(url, json=IN_FLIGHT, timeout=60))
            )
            worker.start()
            time.sleep(0.5)
            figures["stop_in_flight_s"] = stop_seconds(container.id)
            worker.join(timeout=60)
            assert answered["r"].status_code == 200
        assert docker.inspect(container.id)["State"]["ExitCode"] == 0
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.container", description=__doc__)
    parser.add_argument("--runs", type=int, default=3, help="starts of the image per kind of stop")
    parser.add_argument(
        "--cached", action="store_true", help="build with the layer cache (default: --no-cache)"
    )
    args = parser.parse_args(argv)
    missing = docker.engine_missing()
    if missing:
        print(f"skipped: {missing}")
        return 1
    print(f"load average before: {load_average()}")
    build = docker.build_image(docker.IMAGE, *([] if args.cached else ["--no-cache"]))
    size = docker.inspect(docker.IMAGE)["Size"]
    print(f"build ({'cached' if args.cached else 'no cache'}, base image present): {build:.1f} s")
    print(f"image size: {size / 1e6:.0f} MB ({size} bytes, docker image inspect)")
    runs = [one_run(in_flight=False) for _ in range(args.runs)] + [one_run(True) for _ in range(args.runs)]
    for key in ("ready_s", "healthy_s", "stop_idle_s", "stop_in_flight_s"):
        values = [run[key] for run in runs if key in run]
        print(f"{key}: median {statistics.median(values):.2f} s over {len(values)} ({format_list(values)})")
    print(f"load average after: {load_average()}")
    return 0


def format_list(values: list[float]) -> str:
    return ", ".join(f"{value:.2f}" for value in values)


if __name__ == "__main__":
    raise SystemExit(main())
