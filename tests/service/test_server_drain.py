"""A real `python -m service`: the SIGTERM drain, readiness over TCP and LOG_FORMAT=json."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import httpx

from tests.utils.server import running_server, wait_for_refusal


def test_sigterm_drains_not_ready_but_serving_then_closes_and_exits_0(
    small_artifact: Path, tmp_path: Path
) -> None:
    drain = 2.0
    with running_server(small_artifact, tmp_path / "server.log", DRAIN_SECONDS=str(drain)) as server:
        port = int(server.base_url.rsplit(":", 1)[1])
        with httpx.Client(base_url=server.base_url, timeout=10.0) as http:
            assert http.get("/health/ready").json() == {"status": "ready"}
            server.process.send_signal(signal.SIGTERM)
            signalled = time.monotonic()
            ready = http.get("/health/ready")
            assert (ready.status_code, ready.json()) == (503, {"status": "draining"})
            assert http.get("/health/live").status_code == 200
            served = http.post("/predict-next", json={"text": "harles dar"})
            assert served.status_code == 200
            assert time.monotonic() - signalled < drain, "the checks above ran during the drain"
        assert wait_for_refusal(port, timeout=drain + 10.0)
        closed = time.monotonic() - signalled
        assert server.process.wait(timeout=30) == 0
    assert closed >= drain - 0.2, f"the socket closed {closed:.2f} s after SIGTERM, before the drain ended"


def test_a_second_sigterm_ends_the_drain_at_once(small_artifact: Path, tmp_path: Path) -> None:
    with running_server(small_artifact, tmp_path / "server.log", DRAIN_SECONDS="120") as server:
        server.process.send_signal(signal.SIGTERM)
        response = httpx.get(f"{server.base_url}/health/ready", timeout=10.0)
        assert response.status_code == 503
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(timeout=30) == 0


def test_json_logs_are_one_object_per_line_with_the_request_id(small_artifact: Path, tmp_path: Path) -> None:
    with running_server(small_artifact, tmp_path / "server.log", LOG_FORMAT="json") as server:
        httpx.get(f"{server.base_url}/health/ready", headers={"x-request-id": "json-log-1"}, timeout=10.0)
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(timeout=30) == 0
    entries = [json.loads(line) for line in server.log().splitlines()]
    loggers = {entry["logger"] for entry in entries}
    assert {"service", "service.access", "uvicorn.error"} <= loggers  # uvicorn's own lines too
    access = [entry for entry in entries if entry["request_id"] == "json-log-1"]
    assert len(access) == 1
    assert {key: access[0][key] for key in ("logger", "method", "path", "status")} == {
        "logger": "service.access",
        "method": "GET",
        "path": "/health/ready",
        "status": 200,
    }
