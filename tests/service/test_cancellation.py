"""A client that disconnects stops its work: the ASGI app driven by hand, the disconnect at once."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, MutableMapping
from typing import Any

import anyio
import pytest
from fastapi import FastAPI

from model.accuracy import EVAL_BATCH
from service.cancellation import Cancellation, Cancelled
from tests.utils.client import lifespan


def test_check_raises_once_cancelled() -> None:
    cancellation = Cancellation()
    cancellation.check(0)
    cancellation.cancel()
    with pytest.raises(Cancelled) as raised:
        cancellation.check(4096)
    assert (raised.value.done, str(raised.value)) == (
        4096,
        "client disconnected; stopped after 4096 units of work",
    )


async def post_then_disconnect(app: FastAPI, path: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    """POST `body`, then report the client gone on the next receive; the messages sent back."""
    content = json.dumps(body).encode()
    messages: Iterator[dict[str, Any]] = iter(
        [{"type": "http.request", "body": content, "more_body": False}, {"type": "http.disconnect"}]
    )
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return next(messages, {"type": "http.disconnect"})

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(dict(message))

    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(content)).encode())]
    scope = {"type": "http", "method": "POST", "path": path, "raw_path": path.encode(), "headers": headers,
             "query_string": b"", "http_version": "1.1", "scheme": "http", "server": ("t", 80),
             "client": ("127.0.0.1", 1), "root_path": ""}  # fmt: skip
    await app(scope, receive, send)
    return sent


def test_accuracy_stops_when_its_client_disconnects(
    make_client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_client().app
    text = "the origin of species " * 4500  # 99,000 characters: 25 chunks of windows
    with lifespan(app), caplog.at_level(logging.INFO, logger="service.errors"):
        sent = anyio.run(post_then_disconnect, app, "/accuracy", {"text": text})
    assert sent[0]["status"] == 499
    (stopped,) = [record for record in caplog.records if record.name == "service.errors"]
    # The disconnect arrives at once, so the work stops at the first check: after one forward
    # pass of EVAL_BATCH windows (a second if the thread ran on before the loop saw it), of 49.
    assert stopped.work_done in (EVAL_BATCH, 2 * EVAL_BATCH), stopped.getMessage()  # type: ignore[attr-defined]
    assert stopped.getMessage() == f"client disconnected; stopped after {stopped.work_done} units of work"  # type: ignore[attr-defined]


def test_a_batch_stops_when_its_client_disconnects(make_client: Any) -> None:
    app = make_client().app
    with lifespan(app):
        sent = anyio.run(post_then_disconnect, app, "/predict-next/batch", {"texts": ["harles dar"] * 1000})
    assert sent[0]["status"] == 499
