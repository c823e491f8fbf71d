"""A real `python -m service` under hostile clients: bounded cost per request and per connection."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.utils.server import ServerProcess, ServerStartError, running_server, wait_until_healthy

pytestmark = pytest.mark.slow

# 499,990 integers: 1 MB, the body the limits were attacked with.
INTEGERS = b'{"texts": [' + b",".join([b"0"] * 499_990) + b"]}"
JSON = {"content-type": "application/json"}
# The goals are 1 s and 0.5 s (docs/reliability.md has the measured figures); 5x slack for a
# loaded machine, far below the 14 s and more that /health waited behind such bodies.
REFUSAL_SECONDS = 5.0
HEALTH_SECONDS = 2.5


@pytest.fixture(scope="module")
def guarded(small_artifact: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    log_path = tmp_path_factory.mktemp("guarded") / "server.log"
    with running_server(
        small_artifact, log_path, HEADER_TIMEOUT_SECONDS="1", MAX_CONNECTIONS="8", BODY_TIMEOUT_SECONDS="2"
    ) as server:
        yield server


def post_integers(base_url: str, results: list[tuple[int, float, int]]) -> None:
    started = time.perf_counter()
    response = httpx.post(f"{base_url}/predict-next/batch", content=INTEGERS, headers=JSON, timeout=30)
    results.append((response.status_code, time.perf_counter() - started, len(response.content)))


def test_health_answers_while_four_megabyte_lists_are_refused(guarded: ServerProcess) -> None:
    results: list[tuple[int, float, int]] = []
    senders = [threading.Thread(target=post_integers, args=(guarded.base_url, results)) for _ in range(4)]
    for sender in senders:
        sender.start()
    slowest = 0.0
    with httpx.Client(timeout=30) as health:
        while any(sender.is_alive() for sender in senders):
            started = time.perf_counter()
            assert health.get(f"{guarded.base_url}/health").status_code == 200
            slowest = max(slowest, time.perf_counter() - started)
    for sender in senders:
        sender.join()
    assert [status for status, _, _ in results] == [422] * 4
    assert max(seconds for _, seconds, _ in results) < REFUSAL_SECONDS
    assert max(size for _, _, size in results) < 1000
    assert slowest < HEALTH_SECONDS


def test_a_client_that_never_finishes_its_headers_is_disconnected(guarded: ServerProcess) -> None:
    port = int(guarded.base_url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as slow:
        started = time.monotonic()
        slow.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")  # no blank line: headers never end
        assert slow.recv(1024) == b""  # closed by the server, not by the 10 s socket timeout
        waited = time.monotonic() - started
    assert 0.9 < waited < 5.0


BUSY = b'{"detail": "Too many open connections (MAX_CONNECTIONS)", "request_id": "-"}'


def ask(port: int, request: bytes) -> bytes:
    """The whole answer to one request on a new connection, which the server then closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(request)
        return read_until_closed(connection)


def read_until_closed(connection: socket.socket) -> bytes:
    chunks = []
    while chunk := connection.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def get(path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode()


def test_connections_past_max_connections_get_503_but_the_probes_answer(guarded: ServerProcess) -> None:
    port = int(guarded.base_url.rsplit(":", 1)[1])
    idle = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(8)]
    try:
        for path in ("/health/live", "/health/ready", "/metrics"):
            assert ask(port, get(path)).startswith(b"HTTP/1.1 200 OK\r\n"), path
        refused = ask(port, get("/model"))
        assert refused.startswith(b"HTTP/1.1 503 Service Unavailable\r\n") and refused.endswith(BUSY)
        # Past the connections kept for the probes, a connection is refused before its request.
        reserve = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(16)]
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=10) as extra:
                answer = extra.recv(4096)
                assert answer.startswith(b"HTTP/1.1 503 Service Unavailable\r\n") and answer.endswith(BUSY)
                assert extra.recv(1024) == b""
        finally:
            for connection in reserve:
                connection.close()
    finally:
        for connection in idle:
            connection.close()
    try:  # the server notices the closes within a loop turn
        wait_until_healthy(guarded, timeout=10)
    except ServerStartError:
        pytest.fail("no room for a new connection after the idle ones closed")
    metrics = httpx.get(f"{guarded.base_url}/metrics").text
    refusals = re.search(r'char_rnn_connections_refused_total\{reason="max_connections"\} (\d+)', metrics)
    assert refusals is not None and int(refusals[1]) >= 2
    assert "503 for GET past MAX_CONNECTIONS=8" in guarded.log()
    assert "connection refused: MAX_CONNECTIONS=8 open" in guarded.log()


def test_slow_bodies_get_408_within_the_deadline_while_the_probes_answer(guarded: ServerProcess) -> None:
    port = int(guarded.base_url.rsplit(":", 1)[1])
    head = (
        b"POST /predict-next HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 100\r\n\r\n"
    )
    slow = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(8)]
    try:
        started = time.monotonic()
        for connection in slow:
            connection.sendall(head + b'{"text": ')  # then nothing more: the body never completes
        for path in ("/health/live", "/health/ready", "/metrics"):
            assert ask(port, get(path)).startswith(b"HTTP/1.1 200 OK\r\n"), path
        answers = [read_until_closed(connection) for connection in slow]  # closed after the answer
        waited = time.monotonic() - started
        assert all(answer.startswith(b"HTTP/1.1 408 Request Timeout\r\n") for answer in answers), answers[0]
        assert all(b"Request body did not arrive within 2 s (BODY_TIMEOUT_SECONDS)" in a for a in answers)
        assert 1.9 < waited < 6.0
    finally:
        for connection in slow:
            connection.close()
    assert len(re.findall(r'"POST /predict-next" 408', guarded.log())) == 8


def test_accuracy_stops_when_its_client_goes_away(guarded: ServerProcess) -> None:
    port = int(guarded.base_url.rsplit(":", 1)[1])
    body = b'{"text": "' + b"the origin of species " * 4500 + b'"}'
    request = (
        b"POST /accuracy HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    for _ in range(3):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
            client.sendall(request)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len(re.findall(r'"POST /accuracy" 499', guarded.log())) < 3:
        time.sleep(0.05)
    stopped = re.findall(r"client disconnected; stopped after (\d+) units of work", guarded.log())
    assert len(stopped) == 3, guarded.log()
    assert all(int(done) < 99_000 - 10 for done in stopped)


def test_a_client_that_leaves_mid_body_is_logged_as_499_without_a_traceback(guarded: ServerProcess) -> None:
    port = int(guarded.base_url.rsplit(":", 1)[1])
    head = (
        b"POST /generate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"
    )
    for _ in range(3):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as leaving:
            leaving.sendall(head + b'{"text": "harles')
            time.sleep(0.2)  # the request has reached its handler, which waits for the rest
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and len(re.findall(r'"POST /generate" 499', guarded.log())) < 3:
        time.sleep(0.05)
    assert len(re.findall(r'"POST /generate" 499', guarded.log())) == 3
    assert "Traceback" not in guarded.log() and '"POST /generate" 500' not in guarded.log()
    metrics = httpx.get(f"{guarded.base_url}/metrics").text
    assert 'http_requests_total{method="POST",route="/generate",status="499"} 3.0' in metrics
    assert 'status="500"' not in metrics
