"""python -m bench.slow_bodies: 1,000 bodies stopped just short of 1 MB, against a real server.

Starts `python -m service` on the committed artifacts (loopback, default settings), opens
1,000 connections that each send the headers of a 1,000,000-byte POST /predict-next and
999,000 bytes of it, then stop. Prints how each was answered, the server's RSS at idle, at
its peak and after the connections close, and the slowest of a few /health/live probes
meanwhile. Figures go to docs/reliability.md; nothing here is asserted.
"""

from __future__ import annotations

import asyncio
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx

from bench.hostile import peak_rss_mb
from tests.utils.server import running_server

CONNECTIONS = 1000
HEAD = (
    b"POST /predict-next HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    b"Content-Length: 1000000\r\n\r\n"
)
ALMOST = b'{"text": "' + b"a" * (999_000 - 10)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def hold(port: int, answers: Counter[str], release: asyncio.Event) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(HEAD + ALMOST)
        await writer.drain()
        try:
            line = await asyncio.wait_for(reader.readline(), timeout=60)
        except TimeoutError:
            line = b"no answer"
        answers[line.decode(errors="replace").strip() or "closed"] += 1
        await release.wait()
    except OSError as error:
        answers[type(error).__name__] += 1
    finally:
        writer.close()


async def attack(port: int, pid: int) -> None:
    answers: Counter[str] = Counter()
    release = asyncio.Event()
    started = time.perf_counter()
    tasks = [asyncio.create_task(hold(port, answers, release)) for _ in range(CONNECTIONS)]
    probes: list[float] = []
    done = threading.Event()
    prober = threading.Thread(target=probe, args=(port, probes, done))  # its own loop and socket
    prober.start()
    while sum(answers.values()) < CONNECTIONS and time.perf_counter() - started < 90:
        await asyncio.sleep(0.2)
    done.set()
    prober.join()
    slowest = max(probes)
    print(f"answers after {time.perf_counter() - started:.1f} s: {dict(answers)}")
    print(f"slowest /health/live meanwhile: {slowest:.2f} s; RSS now {rss_mb(pid):.0f} MB")
    release.set()
    await asyncio.gather(*tasks)
    await asyncio.sleep(3)
    print(f"peak RSS {peak_rss_mb(pid):.0f} MB; 3 s after the connections closed: {rss_mb(pid):.0f} MB")


def probe(port: int, seconds: list[float], done: threading.Event) -> None:
    with httpx.Client(timeout=30) as client:
        while not done.is_set():
            before = time.perf_counter()
            status = client.get(f"http://127.0.0.1:{port}/health/live").status_code
            seconds.append(time.perf_counter() - before)
            assert status == 200, status
            done.wait(0.25)


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        with running_server(None, Path(scratch) / "server.log", timeout=120) as server:
            pid = server.process.pid
            print(f"idle RSS {rss_mb(pid):.0f} MB")
            asyncio.run(attack(int(server.base_url.rsplit(":", 1)[1]), pid))


if __name__ == "__main__":
    main()
