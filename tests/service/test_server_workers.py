"""WORKERS=2: one `python -m service` command, two uvicorn worker processes on one port."""

from __future__ import annotations

import signal
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
