"""`python -m service` as a real process over loopback TCP: answers, limits and the access log."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from tests.utils.errors import error_body
from tests.utils.server import ServerProcess

TEXTS = [
    "harles dar",
    "the origin of species",
    "natural selection",
    "a",
    "dar",
    "struggle for life",
    "x" * 2000,
]


def test_health_and_predict_over_tcp(server: ServerProcess, client: Any) -> None:
    with httpx.Client(base_url=server.base_url, timeout=10.0) as http:
        health = http.get("/health")
        assert (health.status_code, health.json()) == (200, {"status": "ok"})
        response = http.post("/predict-next", json={"text": "harles dar", "top_k": 3})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == client.post("/predict-next", json={"text": "harles dar", "top_k": 3}).json()
    assert "server" not in response.headers  # no version banner


def requests_for(index: int) -> list[tuple[str, dict[str, Any]]]:
    """A different mix for each client: cached and uncached windows, batch, sampling, LSTM."""
    text = TEXTS[index % len(TEXTS)]
    return [
        ("/predict-next", {"text": text, "top_k": 5}),
        ("/predict-next", {"text": f"{text} {index}th variation", "top_k": 27}),
        ("/predict-next/batch", {"texts": TEXTS[: 1 + index % len(TEXTS)], "top_k": 2}),
        ("/generate", {"text": text, "n": 30, "temperature": 0.7, "seed": index}),
        ("/accuracy", {"text": "the origin of species by means of natural selection " * (1 + index % 3)}),
        ("/lstm/step", {"x": [index % 2, 1, (index // 2) % 2]}),
    ]


def test_64_concurrent_clients_get_the_sequential_answers(server: ServerProcess) -> None:
    clients = 64
    with httpx.Client(base_url=server.base_url, timeout=30.0) as http:
        sequential = [
            [http.post(path, json=body).json() for path, body in requests_for(i)] for i in range(clients)
        ]
    start = threading.Barrier(clients, timeout=30.0)

    def run(index: int) -> list[Any]:
        with httpx.Client(base_url=server.base_url, timeout=30.0) as http:
            start.wait()  # all 64 connections fire at once
            answers = []
            for path, body in requests_for(index):
                response = http.post(path, json=body)
                assert response.status_code == 200, (path, response.text)
                answers.append(response.json())
            return answers

    with ThreadPoolExecutor(max_workers=clients) as pool:
        concurrent = list(pool.map(run, range(clients), timeout=120))
    assert concurrent == sequential


def test_body_limit_over_tcp(server: ServerProcess) -> None:
    limit = {"detail": "Request body is larger than the limit of 1000000 bytes (MAX_BODY_BYTES)"}
    with httpx.Client(base_url=server.base_url, timeout=30.0) as http:
        declared = http.post(
            "/predict-next", content=b" " * 1_000_001, headers={"content-type": "application/json"}
        )
        assert (declared.status_code, error_body(declared)) == (413, limit)

        def chunks() -> Iterator[bytes]:
            for _ in range(300):
                yield b" " * 10_000  # 3 MB in all, sent without a Content-Length

        streamed = http.post("/predict-next", content=chunks(), headers={"content-type": "application/json"})
        assert (streamed.status_code, error_body(streamed)) == (413, limit)
        assert http.get("/health").status_code == 200  # the server carries on


def test_access_log_has_one_line_per_request_and_no_body(server: ServerProcess) -> None:
    marker = "unmistakable marker text"
    with httpx.Client(base_url=server.base_url, timeout=10.0) as http:
        http.post("/predict-next", json={"text": marker})
        http.post("/predict-next", json={"text": marker, "top_k": 0})
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline and '"POST /predict-next" 422' not in server.log():
        time.sleep(0.05)
    log = server.log()
    assert '"POST /predict-next" 200' in log
    assert '"POST /predict-next" 422' in log
    assert "marker" not in log
    assert "Traceback" not in log
