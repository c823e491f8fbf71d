"""WORKERS=2: one `python -m service` command, two uvicorn worker processes on one port."""

from __future__ import annotations

import os
import signal
import socket
import time
from pathlib import Path

import httpx
import pytest

from tests.utils.server import running_server


def child_pids(pid: int) -> list[int]:
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def worker_pids(pid: int) -> list[int]:
    """The supervisor's children that run Python (multiprocessing also starts a resource tracker)."""
    workers = []
    for child in child_pids(pid):
        command = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")
        if not any(b"resource_tracker" in part for part in command):
            workers.append(child)
    return workers


@pytest.mark.slow
def test_two_workers_serve_the_same_answers(small_artifact: Path, tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    with running_server(small_artifact, log, stop_signal=signal.SIGTERM, timeout=60, WORKERS="2") as server:
        assert len(worker_pids(server.process.pid)) == 2
        with httpx.Client(base_url=server.base_url, timeout=10) as http:
            answers = [http.post("/predict-next", json={"text": "harles dar"}).json() for _ in range(20)]
            batch = http.post("/predict-next/batch", json={"texts": ["harles dar"]}).json()
        assert all(answer == answers[0] for answer in answers)
        assert batch["predictions"] == [answers[0]]
    assert server.process.wait(timeout=30) == 0
    assert "Started parent process" in server.log()


def gone(pid: int) -> bool:
    """True once the process has exited (a zombie waiting for its new parent counts)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


@pytest.mark.slow
def test_workers_end_with_a_killed_supervisor_and_free_the_port(small_artifact: Path, tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    with running_server(small_artifact, log, timeout=60, WORKERS="2") as server:
        workers = worker_pids(server.process.pid)
        assert len(workers) == 2
        server.process.send_signal(signal.SIGKILL)
        server.process.wait(timeout=10)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not all(gone(pid) for pid in workers):
            time.sleep(0.1)
        survivors = [pid for pid in workers if not gone(pid)]
        for pid in survivors:  # not left running when the test fails
            os.kill(pid, signal.SIGKILL)
        assert survivors == [], "workers outlived their supervisor"
        port = int(server.base_url.rsplit(":", 1)[1])
        with socket.socket() as again:  # a restart can listen on the port
            again.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            again.bind(("127.0.0.1", port))
            again.listen()
