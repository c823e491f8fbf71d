"""python -m bench.hostile: the cost of hostile requests to a real `python -m service`.

Prints, for the committed artifact on loopback: the time and answer size of a 1 MB body of
499,990 integers to /predict-next/batch, the slowest /health while four of them run and while
64 valid 1 MB batches run, the server's peak RSS, the server CPU that six disconnected
max-size POST /accuracy requests cost, and how long a client that never finishes its headers
stays connected. Figures go to docs/reliability.md; nothing here is asserted.
"""

from __future__ import annotations

import json
import socket
import tempfile
import threading
import time
from pathlib import Path

import httpx

from tests.utils.server import ServerProcess, running_server

JSON = {"content-type": "application/json"}
INTEGERS = b'{"texts": [' + b",".join([b"0"] * 499_990) + b"]}"
VALID = json.dumps({"texts": ["harles darwin wrote " * 49] * 1000, "top_k": 1}).encode()
LONGEST = b'{"text": "' + b"the origin of species " * 4545 + b'"}'


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100  # utime + stime, in clock ticks of 10 ms


def slowest_health_during(server: ServerProcess, body: bytes, clients: int) -> tuple[float, list[float], int]:
    """(slowest /health, each client's seconds, largest answer) while `clients` post `body` at once."""
    results: list[tuple[float, int]] = []

    def post() -> None:
        started = time.perf_counter()
        response = httpx.post(
            f"{server.base_url}/predict-next/batch", content=body, headers=JSON, timeout=120
        )
        results.append((time.perf_counter() - started, len(response.content)))

    threads = [threading.Thread(target=post) for _ in range(clients)]
    for thread in threads:
        thread.start()
    slowest = 0.0
    with httpx.Client(timeout=60) as health:
        while any(thread.is_alive() for thread in threads):
            started = time.perf_counter()
            health.get(f"{server.base_url}/health")
            slowest = max(slowest, time.perf_counter() - started)
            time.sleep(0.01)
    return slowest, [seconds for seconds, _ in results], max(size for _, size in results)


def disconnected_accuracy_cpu(server: ServerProcess, count: int) -> float:
    port = int(server.base_url.rsplit(":", 1)[1])
    request = (
        b"POST /accuracy HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {len(LONGEST)}\r\n\r\n".encode()
        + LONGEST
    )
    before = cpu_seconds(server.process.pid)
    for _ in range(count):
        with socket.create_connection(("127.0.0.1", port)) as client:
            client.sendall(request)
    time.sleep(3.0)  # let any work that still runs finish
    return cpu_seconds(server.process.pid) - before


def header_timeout_seconds(server: ServerProcess) -> float:
    port = int(server.base_url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=60) as slow:
        started = time.monotonic()
        slow.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        slow.recv(1024)
        return time.monotonic() - started


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch, running_server(None, Path(scratch) / "log") as server:
        pid = server.process.pid
        print(f"idle server: peak RSS {peak_rss_mb(pid):.0f} MB")
        started = time.perf_counter()
        response = httpx.post(
            f"{server.base_url}/predict-next/batch", content=INTEGERS, headers=JSON, timeout=60
        )
        print(
            f"1 MB of 499,990 integers: {response.status_code} in {time.perf_counter() - started:.3f} s, "
            f"{len(response.content)} bytes, peak RSS {peak_rss_mb(pid):.0f} MB"
        )
        slowest, seconds, size = slowest_health_during(server, INTEGERS, 4)
        print(
            f"4 such bodies at once: each answered in <= {max(seconds):.2f} s ({size} bytes); "
            f"slowest /health {slowest:.3f} s"
        )
        slowest, seconds, size = slowest_health_during(server, VALID, 64)
        print(
            f"64 valid 1 MB batches at once ({len(VALID)} bytes each): "
            f"all answered within {max(seconds):.1f} s; "
            f"slowest /health {slowest:.3f} s; peak RSS {peak_rss_mb(pid):.0f} MB"
        )
        started = time.perf_counter()
        response = httpx.post(f"{server.base_url}/accuracy", json={"text": "İ" * 100_000}, timeout=60)
        print(f'"İ" * 100000 to /accuracy: {response.status_code} in {time.perf_counter() - started:.3f} s')
        started = time.perf_counter()
        response = httpx.post(f"{server.base_url}/accuracy", content=LONGEST, headers=JSON, timeout=60)
        print(f"one max-size /accuracy, completed: {time.perf_counter() - started:.2f} s")
        print(
            "six max-size /accuracy, each disconnected after sending: server CPU "
            f"{disconnected_accuracy_cpu(server, 6):.2f} s"
        )
        print(
            "a client that never finishes its headers: disconnected after "
            f"{header_timeout_seconds(server):.2f} s"
        )


if __name__ == "__main__":
    main()
