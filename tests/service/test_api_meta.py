"""GET /health, /model, /accuracy, the OpenAPI documents and the app's defaults."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from model.artifact import Artifact
from tests.utils.client import ASGIClient
from tests.utils.errors import error_body


def test_health(client: ASGIClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_model_describes_the_artifact(client: ASGIClient, artifact: Artifact) -> None:
    body = client.get("/model").json()
    manifest = artifact.manifest
    assert body["name"] == manifest["name"] == "test-rnn-16"
    assert (body["architecture"], body["default"]) == ("rnn", True)
    assert (body["n_in"], body["n_hidden"], body["n_out"]) == (27, 16, 27)
    assert body["parameters"] == 27 * 16 + 16 * 16 + 16 + 27 * 16 + 27
    assert body["context"] == 10
    assert body["alphabet"] == " abcdefghijklmnopqrstuvwxyz"
    assert body["hyperparameters"] == manifest["hyperparameters"]
    assert body["metrics"] == manifest["metrics"]
    assert body["baseline"] == manifest["baseline"]
    assert body["sentence"] == manifest["sentence"]
    assert body["weights_sha256"] == manifest["weights_sha256"]
    assert body["format_version"] == 2


def test_recorded_accuracy_is_the_manifests(client: ASGIClient, artifact: Artifact) -> None:
    body = client.get("/accuracy").json()
    manifest = artifact.manifest
    assert body == {
        "test": manifest["metrics"]["test"],
        "validation": manifest["metrics"]["validation"],
        "train": manifest["metrics"]["train"],
        "baseline": manifest["baseline"],
        "sentence": manifest["sentence"],
    }
    assert f"{manifest['metrics']['test']['accuracy']:.1%}" in body["sentence"]
    assert f"{manifest['baseline']['test']['accuracy']:.1%} on the same positions" in body["sentence"]


def test_openapi_documents_every_endpoint_with_the_assignment_examples(client: ASGIClient) -> None:
    schema = client.get("/openapi.json").json()
    paths = schema["paths"]
    expected = {
        "/health": "get",
        "/model": "get",
        "/models": "get",
        "/accuracy": "post",
        "/predict-next": "post",
        "/predict-next/batch": "post",
        "/generate": "post",
        "/lstm/step": "post",
    }
    for path, method in expected.items():
        assert method in paths[path], path
        assert paths[path][method]["summary"], path
    assert "get" in paths["/accuracy"]
    predict_examples = paths["/predict-next"]["post"]["requestBody"]["content"]["application/json"][
        "examples"
    ]
    assert predict_examples["darwin"]["value"]["text"] == "harles dar"
    lstm_examples = paths["/lstm/step"]["post"]["requestBody"]["content"]["application/json"]["examples"]
    inputs = [example["value"]["x"] for name, example in lstm_examples.items() if name.startswith("example")]
    assert inputs == [[1, 0, 0], [0, 1, 0], [1, 0, 1]]


def test_docs_page_is_served(client: ASGIClient) -> None:
    response = client.get("/docs")
    assert response.status_code == 200
    assert "swagger" in response.text.lower()


@pytest.mark.parametrize(
    ("method", "path", "status", "detail"),
    [
        ("GET", "/nowhere", 404, "Not Found"),
        ("GET", "/predict-next", 405, "Method Not Allowed"),
        ("POST", "/health", 405, "Method Not Allowed"),
    ],
)
def test_unknown_routes_and_methods_answer_json(
    client: ASGIClient, method: str, path: str, status: int, detail: str
) -> None:
    response = client.request(method, path)
    assert response.status_code == status
    assert error_body(response) == {"detail": detail}


def test_no_debug_and_no_cors_by_default(client: ASGIClient) -> None:
    response = client.get("/health", headers={"Origin": "http://example.org"})
    assert "access-control-allow-origin" not in response.headers
    preflight = client.request(
        "OPTIONS",
        "/predict-next",
        headers={"Origin": "http://example.org", "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 405
    assert "access-control-allow-origin" not in preflight.headers


def test_cors_only_for_configured_origins(make_client: Callable[..., ASGIClient]) -> None:
    client = make_client(CORS_ORIGINS="http://allowed.example, http://other.example")
    allowed = client.get("/health", headers={"Origin": "http://allowed.example"})
    assert allowed.headers["access-control-allow-origin"] == "http://allowed.example"
    refused = client.get("/health", headers={"Origin": "http://evil.example"})
    assert "access-control-allow-origin" not in refused.headers


def test_app_is_not_in_debug_mode(client: ASGIClient) -> None:
    assert client.app.debug is False


def test_method_not_allowed_lists_every_method_of_the_path(client: ASGIClient) -> None:
    response = client.request("DELETE", "/accuracy")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST"
    assert error_body(response) == {"detail": "Method Not Allowed"}
