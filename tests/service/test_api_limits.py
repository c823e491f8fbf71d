"""Body size limit (413), the catch-all 500 handler, and the one-line access log."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from fastapi import FastAPI

from service.app import create_app
from tests.utils.client import ASGIClient, ExplicitSettings
from tests.utils.errors import error_body

JSON = {"content-type": "application/json"}


def too_large(limit: int) -> dict[str, str]:
    return {"detail": f"Request body is larger than the limit of {limit} bytes (MAX_BODY_BYTES)"}


def padded_body(size: int) -> bytes:
    """A valid /predict-next body of exactly `size` bytes."""
    body = json.dumps({"text": "darwin"}).encode()
    padding = size - len(body)
    return json.dumps({"text": "darwin" + " " * padding}).encode()


def test_body_at_the_limit_is_served_and_one_byte_more_is_413(make_client: Callable[..., ASGIClient]) -> None:
    client = make_client(MAX_BODY_BYTES=200)
    assert client.post("/predict-next", content=padded_body(200), headers=JSON).status_code == 200
    response = client.post("/predict-next", content=padded_body(201), headers=JSON)
    assert (response.status_code, error_body(response)) == (413, too_large(200))


def test_streamed_body_without_content_length_is_counted(make_client: Callable[..., ASGIClient]) -> None:
    client = make_client(MAX_BODY_BYTES=200)

    async def chunks(total: int) -> AsyncIterator[bytes]:
        body = padded_body(total)
        for start in range(0, len(body), 50):
            yield body[start : start + 50]

    accepted = client.post("/predict-next", content=chunks(200), headers=JSON)
    assert accepted.request.headers.get("content-length") is None
    assert accepted.status_code == 200
    refused = client.post("/predict-next", content=chunks(400), headers=JSON)
    assert (refused.status_code, error_body(refused)) == (413, too_large(200))


def test_default_limit_is_one_megabyte(client: ASGIClient) -> None:
    texts = ["origin of species " * 5000] * 12  # 90,000 characters each, under MAX_TEXT_CHARS
    body = json.dumps({"texts": texts[:11], "top_k": 1}).encode()
    assert len(body) < 1_000_000
    assert client.post("/predict-next/batch", content=body, headers=JSON).status_code == 200
    body = json.dumps({"texts": texts, "top_k": 1}).encode()
    assert len(body) > 1_000_000
    response = client.post("/predict-next/batch", content=body, headers=JSON)
    assert (response.status_code, error_body(response)) == (413, too_large(1_000_000))


def test_oversized_body_is_refused_on_every_post_route(client: ASGIClient) -> None:
    body = b"x" * 1_000_001
    for path in ("/predict-next", "/predict-next/batch", "/generate", "/accuracy", "/lstm/step"):
        response = client.post(path, content=body, headers=JSON)
        assert response.status_code == 413, path


@pytest.fixture
def broken_app(small_artifact: Path) -> FastAPI:
    app = create_app(ExplicitSettings(CHAR_RNN_ARTIFACT=small_artifact))

    @app.get("/broken")
    def broken() -> dict[str, str]:
        raise RuntimeError("a bug, with a secret: hunter2")

    return app


def test_a_bug_becomes_a_logged_500_json_without_details(
    broken_app: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    client = ASGIClient(broken_app, raise_app_exceptions=False)
    try:
        with caplog.at_level(logging.INFO):
            response = client.get("/broken")
    finally:
        client.close()
    assert response.status_code == 500
    assert error_body(response) == {"detail": "Internal server error"}
    assert "hunter2" not in response.text
    errors = [record for record in caplog.records if record.name == "service.errors"]
    assert len(errors) == 1 and errors[0].exc_info is not None
    assert "GET /broken" in errors[0].getMessage()


def test_one_access_log_line_per_request_without_the_body(
    make_client: Callable[..., ASGIClient], caplog: pytest.LogCaptureFixture
) -> None:
    client = make_client(MAX_BODY_BYTES=500)
    secret = "sesquipedalian secret"
    with caplog.at_level(logging.INFO, logger="service.access"):
        client.post("/predict-next?token=abc", json={"text": secret})
        client.post("/predict-next", json={"text": secret, "top_k": 99})
        client.post("/predict-next", json={"text": secret + " " * 600})
        client.get("/health")
    lines = [record.getMessage() for record in caplog.records if record.name == "service.access"]
    assert len(lines) == 4
    assert [line.split('"')[1] for line in lines] == [
        "POST /predict-next",
        "POST /predict-next",
        "POST /predict-next",
        "GET /health",
    ]
    assert [int(line.split('"')[2].split()[0]) for line in lines] == [200, 422, 413, 200]
    # Duration, then the generated request id.
    assert all(re.search(r" \d+\.\dms id=[0-9a-f]{32}$", line) for line in lines), lines
    assert not any("sesquipedalian" in line or "token" in line for line in lines)
