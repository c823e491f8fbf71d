"""Request bodies in process: a deadline (408), a budget of bytes held at once (503), and a
client that leaves mid-body (499, not a 500)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, MutableMapping
from typing import Any

import pytest

from service.app import create_app
from tests.utils.client import ASGIClient, ExplicitSettings

JSON = {"content-type": "application/json"}


async def trickle(chunks: list[bytes], pause: float) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk
        await asyncio.sleep(pause)


def test_a_body_slower_than_its_deadline_is_408_and_logged(
    make_client: Callable[..., ASGIClient], caplog: pytest.LogCaptureFixture
) -> None:
    client = make_client(BODY_TIMEOUT_SECONDS=0.3)
    with caplog.at_level(logging.WARNING, logger="service.requests"):
        response = client.post(
            "/predict-next", content=trickle([b'{"te', b'xt": ', b'"a"}'], 0.2), headers=JSON
        )
    assert (response.status_code, response.json()["detail"]) == (
        408,
        "Request body did not arrive within 0.3 s (BODY_TIMEOUT_SECONDS)",
    )
    assert response.headers["connection"] == "close"
    assert [record.getMessage() for record in caplog.records] == [
        "Request body did not arrive within 0.3 s (BODY_TIMEOUT_SECONDS)"
    ]
    assert (
        client.post("/predict-next", content=trickle([b'{"text": "a"}'], 0), headers=JSON).status_code == 200
    )


def test_the_deadline_is_in_the_protocols_shape_under_v2(
    make_client: Callable[..., ASGIClient], small_artifact_name: str
) -> None:
    client = make_client(BODY_TIMEOUT_SECONDS=0.2)
    response = client.post(
        f"/v2/models/{small_artifact_name}/infer", content=trickle([b"{", b"}"], 0.4), headers=JSON
    )
    assert (response.status_code, response.json()) == (
        408,
        {"error": "Request body did not arrive within 0.2 s (BODY_TIMEOUT_SECONDS)"},
    )


def test_bodies_past_the_buffer_budget_get_503_with_retry_after(
    make_client: Callable[..., ASGIClient],
) -> None:
    client = make_client(MAX_BODY_BYTES=100, BODY_BUFFER_BYTES=150)
    body = b'{"text": "' + b"a" * 80 + b'"}'
    slow = client._portal.start_task_soon(  # holds 92 bytes while the next request arrives
        lambda: client._client.post("/predict-next", content=trickle([body, b" "], 0.5), headers=JSON)
    )
    refused = client.post("/predict-next", content=trickle([body], 0), headers=JSON)
    assert (refused.status_code, refused.json()["detail"]) == (
        503,
        "Too many request bodies arriving at once (BODY_BUFFER_BYTES); retry shortly",
    )
    assert refused.headers["retry-after"] == "1"
    assert slow.result(timeout=10).status_code == 200
    assert client.post("/predict-next", content=body, headers=JSON).status_code == 200  # released


def test_a_client_that_leaves_mid_body_is_a_499_not_a_500(small_artifact_path: Any) -> None:
    app = create_app(ExplicitSettings(CHAR_RNN_ARTIFACT=small_artifact_path))
    messages: list[dict[str, Any]] = [
        {"type": "http.request", "body": b'{"text": "har', "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> MutableMapping[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(dict(message))

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/predict-next",
        "raw_path": b"/predict-next",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"content-type", b"application/json"), (b"content-length", b"100")],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    asyncio.run(app(scope, receive, send))
    assert sent[0]["status"] == 499
    client = ASGIClient(app)
    try:
        metrics = client.get("/metrics").text
    finally:
        client.close()
    assert 'http_requests_total{method="POST",route="/predict-next",status="499"} 1.0' in metrics
    assert 'status="500"' not in metrics


@pytest.fixture
def small_artifact_path(small_artifact: Any) -> Any:
    return small_artifact


@pytest.fixture
def small_artifact_name(make_client: Callable[..., ASGIClient]) -> str:
    name: str = make_client().get("/model").json()["name"]
    return name
