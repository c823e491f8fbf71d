"""The optional API key: every inference and model route needs it, the probes and /metrics do not."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pytest

from service.app import create_app
from service.settings import SettingsError
from tests.utils.client import ASGIClient, ExplicitSettings

KEY = "s3cret-key-0123456789"
GOOD = {"Authorization": f"Bearer {KEY}"}
UNAUTHORIZED = "Missing or wrong API key: send the header Authorization: Bearer <key> (API_KEY)"
PROTECTED = [
    ("GET", "/models", None),
    ("GET", "/model", None),
    ("GET", "/accuracy", None),
    ("POST", "/predict-next", {"text": "harles dar"}),
    ("POST", "/predict-next/batch", {"texts": ["harles dar"]}),
    ("POST", "/generate", {"text": "harles dar", "n": 3}),
    ("POST", "/accuracy", {"text": "harles darwin"}),
    ("POST", "/lstm/step", {"x": [1, 0, 1]}),
]
OPEN = ["/health", "/health/live", "/health/ready", "/metrics", "/v2/health/live", "/", "/docs"]


@pytest.fixture(scope="module")
def keyed(make_client: Callable[..., ASGIClient]) -> ASGIClient:
    return make_client(API_KEY=KEY)


@pytest.mark.parametrize(("method", "path", "body"), PROTECTED)
def test_each_protected_route_needs_the_key(keyed: ASGIClient, method: str, path: str, body: object) -> None:
    for headers in (
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": KEY},
        {"Authorization": "Basic x"},
    ):
        refused = keyed.request(method, path, json=body, headers=headers)
        assert (refused.status_code, refused.json()["detail"]) == (401, UNAUTHORIZED), headers
        assert refused.headers["www-authenticate"] == "Bearer"
    assert keyed.request(method, path, json=body, headers=GOOD).status_code == 200


def test_the_inference_protocol_refuses_in_its_own_shape(keyed: ASGIClient) -> None:
    name = keyed.get("/model", headers=GOOD).json()["name"]
    body = {"inputs": [{"name": "text", "shape": [1], "datatype": "BYTES", "data": ["harles dar"]}]}
    for path in ("/v2", f"/v2/models/{name}", f"/v2/models/{name}/ready", f"/v2/models/{name}/versions/1"):
        refused = keyed.get(path)
        assert (refused.status_code, refused.json()) == (401, {"error": UNAUTHORIZED}), path
    assert keyed.post(f"/v2/models/{name}/infer", json=body).status_code == 401
    assert keyed.post(f"/v2/models/{name}/infer", json=body, headers=GOOD).status_code == 200


@pytest.mark.parametrize("path", OPEN)
def test_probes_metrics_and_the_page_stay_open(keyed: ASGIClient, path: str) -> None:
    assert keyed.get(path).status_code in (200, 503), path  # 503: readiness before the lifespan


def test_without_a_key_every_route_is_open(client: ASGIClient) -> None:
    assert client.get("/models").status_code == 200


def test_the_key_can_come_from_a_file_and_is_never_logged(
    small_artifact: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    key_file = tmp_path / "key"
    key_file.write_text(KEY + "\n")
    with caplog.at_level(logging.DEBUG):
        client = ASGIClient(
            create_app(ExplicitSettings(CHAR_RNN_ARTIFACT=small_artifact, API_KEY_FILE=key_file))
        )
        try:
            assert client.get("/models").status_code == 401
            assert client.get("/models", headers=GOOD).status_code == 200
        finally:
            client.close()
    assert KEY not in caplog.text
    assert KEY not in repr(ExplicitSettings(CHAR_RNN_ARTIFACT=small_artifact, API_KEY=KEY))


def test_an_unreadable_or_empty_key_file_refuses_the_start(small_artifact: Path, tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"API_KEY_FILE='.*missing': No such file or directory"):
        create_app(ExplicitSettings(CHAR_RNN_ARTIFACT=small_artifact, API_KEY_FILE=tmp_path / "missing"))
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(SettingsError, match="the file is empty"):
        create_app(ExplicitSettings(CHAR_RNN_ARTIFACT=small_artifact, API_KEY_FILE=tmp_path / "empty"))


def test_openapi_declares_the_bearer_key_only_when_there_is_one(
    keyed: ASGIClient, client: ASGIClient
) -> None:
    keyed_schema = keyed.get("/openapi.json").json()
    assert keyed_schema["paths"]["/models"]["get"]["security"] == [{"HTTPBearer": []}]
    assert "security" not in keyed_schema["paths"]["/health/live"]["get"]
    open_schema = client.get("/openapi.json").json()
    assert "security" not in open_schema["paths"]["/models"]["get"]
    assert "securitySchemes" not in open_schema.get("components", {})
