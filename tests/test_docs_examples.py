"""Every curl session in README.md and docs/api.md prints what the app answers, byte for byte."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from service import schemas
from tests.utils import model_table, settings_table
from tests.utils.client import ASGIClient
from tests.utils.examples import (
    DOCUMENTS,
    FORM,
    Example,
    actual_output,
    examples,
    shipped_client,
    shipped_server,
)
from tests.utils.server import REPO_ROOT


@pytest.fixture(scope="module")
def client() -> Iterator[ASGIClient]:
    client = shipped_client()
    yield client
    client.close()


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    with shipped_server() as url:
        yield url


CASES = [(path, example) for path in DOCUMENTS for example in examples(path.read_text(encoding="utf-8"))]


# Endpoints of docs/api.md's table shown otherwise than by a curl session, and why.
NO_SESSION = {
    "GET /health/live": "answers as GET /health does",
    "GET /health/ready": "its answer depends on the moment (starting, ready, draining)",
    "GET /metrics": "Prometheus text whose counts change with every request",
    "GET /": "an HTML page",
    "GET /v2": "the Open Inference Protocol: docs/api.md shows it with tritonclient",
    "GET /v2/health/live": "the same",
    "GET /v2/health/ready": "the same",
    "GET /v2/models/{name}": "the same",
    "GET /v2/models/{name}/ready": "the same",
    "POST /v2/models/{name}/infer": "the same",
}


def documented_endpoints() -> set[str]:
    """'METHOD /path' for each endpoint in the first column of docs/api.md's endpoints table; an
    entry without a method (`/v2/health/live`) takes the one before it."""
    text = (REPO_ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    table = text.split("## Endpoints", 1)[1].split("\n\n", 2)[1]
    endpoints, method = set(), ""
    for row in table.splitlines()[2:]:
        for entry in row.split("|")[1].split("`")[1::2]:
            method, _, path = entry.rpartition(" ") if " " in entry else (method, "", entry)
            endpoints.add(f"{method} {path.split('?')[0]}")
    return endpoints


def test_every_documented_endpoint_has_a_session_or_a_reason() -> None:
    shown = {" ".join(example.request()[:2]).split("?")[0] for _, example in CASES if not example.is_python}
    documented = documented_endpoints()
    assert {"GET /health", "POST /predict-next", "POST /lstm/step"} <= documented  # the table was read
    assert documented - NO_SESSION.keys() <= shown, "endpoints without a curl session"
    assert NO_SESSION.keys() <= documented, "a reason for an endpoint the table no longer lists"
    assert shown <= documented, "a session of an endpoint the table does not list"
    assert all(any(p == path for p, _ in CASES) for path in DOCUMENTS)


@pytest.mark.parametrize(("path", "example"), CASES, ids=[f"{p.name}:{e.line}" for p, e in CASES])
def test_documented_output_is_the_real_one(
    client: ASGIClient, request: pytest.FixtureRequest, path: Path, example: Example
) -> None:
    server_url = request.getfixturevalue("server_url") if example.is_python else None
    assert actual_output(client, example, server_url) == example.output


def test_requests_are_read_as_curl_sends_them() -> None:
    (post,) = examples(
        "$ curl -s localhost:8000/generate -H 'Content-Type: application/json' -d '{\"n\": 1}'\nout"
    )
    assert post.request() == ("POST", "/generate", {"Content-Type": "application/json"}, '{"n": 1}')
    (form,) = examples("$ curl -s localhost:8000/accuracy -d 'x'   # no Content-Type\nout")
    assert form.request() == ("POST", "/accuracy", {"Content-Type": FORM}, "x")
    (get,) = examples("$ curl -s localhost:8000/health\n{}")
    assert (get.request(), get.output) == (("GET", "/health", {}, None), "{}")


def test_the_readme_models_table_is_written_from_the_manifests() -> None:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    assert model_table.table() in readme


def test_the_openapi_examples_are_real_answers(client: ASGIClient) -> None:
    prediction = client.post("/predict-next", json=schemas.PREDICTION_EXAMPLE_REQUEST)
    assert prediction.json() == schemas.PREDICTION_EXAMPLE
    generation = client.post("/generate", json=schemas.GENERATION_EXAMPLE_REQUEST)
    assert generation.json() == schemas.GENERATION_EXAMPLE


def test_the_api_settings_table_is_written_from_the_settings() -> None:
    api = (REPO_ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    assert settings_table.table() in api
