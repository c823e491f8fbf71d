"""`python -m service` on SIGTERM: requests in flight finish, new ones are refused, exit 0."""

from __future__ import annotations

import shutil
import signal
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from model.artifact import load
from tests.utils.artifacts import build_artifact
from tests.utils.server import running_server, wait_for_refusal


def test_sigterm_finishes_the_request_in_flight_refuses_new_ones_and_exits_0(tmp_path: Path) -> None:
    # A long window makes each generated character cost ~300 small matrix products.
    artifact_dir = build_artifact(tmp_path / "long-window", n_hidden=64, context=300, steps=1)
    model = load(artifact_dir).model
    prompt = np.zeros(300, dtype=np.int64)
    started = time.perf_counter()
    model.generate(prompt, 50)
    per_char = (time.perf_counter() - started) / 50
    n = int(min(1000, max(300, 2.0 / per_char)))  # about two seconds of work in the server

    with running_server(artifact_dir, tmp_path / "server.log", GRACEFUL_SHUTDOWN_SECONDS="60") as server:
        port = int(server.base_url.rsplit(":", 1)[1])
        outcome: dict[str, Any] = {}

        def slow_request() -> None:
            try:
                response = httpx.post(
                    f"{server.base_url}/generate", json={"text": "origin of species", "n": n}, timeout=120.0
                )
                outcome["response"] = response
            except httpx.HTTPError as error:  # recorded, then reported by the assertions below
                outcome["error"] = error
            outcome["finished"] = time.monotonic()

        worker = threading.Thread(target=slow_request)
        worker.start()
        time.sleep(0.5)  # the request has reached the handler
        assert worker.is_alive(), "the request finished before SIGTERM; it is not in flight"
        server.process.send_signal(signal.SIGTERM)
        signalled = time.monotonic()

        refused = wait_for_refusal(port, timeout=5.0)
        assert refused, "new connections were still accepted after SIGTERM"
        assert worker.is_alive(), "the slow request should still be running while new ones are refused"

        worker.join(timeout=120)
        assert not worker.is_alive()
        assert "error" not in outcome, outcome.get("error")
        response = outcome["response"]
        assert response.status_code == 200
        assert len(response.json()["continuation"]) == n
        assert outcome["finished"] > signalled
        assert server.process.wait(timeout=30) == 0
    log = server.log()
    assert '"POST /generate" 200' in log
    assert "Shutting down" in log and "Finished server process" in log


def test_sigterm_on_an_idle_server_exits_0(server_factory_dir: Path) -> None:
    with running_server(server_factory_dir, server_factory_dir.parent / "idle.log") as server:
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(timeout=30) == 0


@pytest.fixture
def server_factory_dir(small_artifact: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(small_artifact, tmp_path / "artifact"))


def test_sigterm_ends_the_process_within_the_grace_period_and_the_cut_off_request_gets_503(
    tmp_path: Path,
) -> None:
    # 300 steps of a 128-unit LSTM per generated character.
    artifact_dir = build_artifact(tmp_path / "wide", architecture="lstm", n_hidden=128, context=300, steps=1)
    model = load(artifact_dir).model
    started = time.perf_counter()
    model.generate(np.zeros(300, dtype=np.int64), 5)
    n = min(1000, max(50, int(30.0 / ((time.perf_counter() - started) / 5))))  # about 30 s of work

    with running_server(artifact_dir, tmp_path / "server.log", GRACEFUL_SHUTDOWN_SECONDS="1") as server:
        outcome: dict[str, Any] = {}

        def slow_request() -> None:
            try:
                outcome["response"] = httpx.post(
                    f"{server.base_url}/generate", json={"text": "origin of species", "n": n}, timeout=120.0
                )
            except httpx.HTTPError as error:
                outcome["error"] = error

        worker = threading.Thread(target=slow_request)
        worker.start()
        time.sleep(1.0)  # the request has reached its thread
        assert worker.is_alive(), "the request finished before SIGTERM; it is not in flight"
        server.process.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        status = server.process.wait(timeout=30)
        took = time.monotonic() - signalled
        worker.join(timeout=30)
    assert status == 0
    assert took < 1 + 4, f"exited {took:.1f} s after SIGTERM, GRACEFUL_SHUTDOWN_SECONDS=1"
    assert "error" not in outcome, outcome.get("error")
    response = outcome["response"]
    assert (response.status_code, response.json()["detail"]) == (
        503,
        "The server shut down before the request finished (GRACEFUL_SHUTDOWN_SECONDS)",
    )
    log = server.log()
    assert '"POST /generate" 503' in log
    assert "Traceback" not in log and '"POST /generate" 500' not in log
    assert "exiting with 1 request thread still running" in log
