"""Every curl session in README.md and docs/api.md prints what the app answers, byte for byte."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.utils import model_table
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


def test_the_documents_hold_the_sessions() -> None:
    counts = {path.name: sum(1 for p, _ in CASES if p == path) for path in DOCUMENTS}
    assert counts == {"README.md": 15, "api.md": 24}


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
