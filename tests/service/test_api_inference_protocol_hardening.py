"""/v2 under hostile input: content types, strict shapes, the nine inputs that reached a 500,
echoed values, the advertised version's routes, and errors in the protocol's shape."""

from __future__ import annotations

import json
from typing import Any

import pytest

from model.artifact import Artifact
from tests.utils.client import ASGIClient

TEXT_PLAIN = {"content-type": "text/plain"}


def tensor(**fields: Any) -> dict[str, Any]:
    return {"name": "text", "shape": [1], "datatype": "BYTES", "data": ["harles dar"], **fields}


def infer(client: ASGIClient, artifact: Artifact, body: Any, **kwargs: Any) -> Any:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"content-type": "application/json", **kwargs.pop("headers", {})}
    return client.post(f"/v2/models/{artifact.name}/infer", content=content, headers=headers, **kwargs)


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]
)
def test_a_cross_site_content_type_is_415(client: ASGIClient, artifact: Artifact, content_type: str) -> None:
    response = infer(client, artifact, {"inputs": [tensor()]}, headers={"content-type": content_type})
    assert (response.status_code, response.json()) == (
        415,
        {
            "error": "Expected Content-Type application/json, or application/octet-stream with "
            "Inference-Header-Content-Length, or none"
        },
    )


@pytest.mark.parametrize("shape", [["1"], [True], [1.0], [-1]])
def test_a_shape_that_is_not_a_count_is_refused_naming_the_field(
    client: ASGIClient, artifact: Artifact, shape: list[Any]
) -> None:
    response = infer(client, artifact, {"inputs": [tensor(shape=shape)]})
    assert response.status_code == 400
    assert response.json()["error"].startswith("invalid inference request: inputs.0.shape.0: ")


BINARY_SIZE_ERROR = (
    "input 'text': parameters.binary_data_size must be an integer from 0 to the 0 bytes after the JSON header"
)


@pytest.mark.parametrize(
    "size", ['"abc"', "null", "[1]", "1e400", '"' + "9" * 5000 + '"', "9" * 5000, "-1", "5"]
)
def test_a_bad_binary_data_size_is_a_400(client: ASGIClient, artifact: Artifact, size: str) -> None:
    header = (
        '{"inputs": [{"name": "text", "shape": [1], "datatype": "BYTES", '
        '"parameters": {"binary_data_size": ' + size + "}}]}"
    ).encode()
    response = infer(client, artifact, header, headers={"Inference-Header-Content-Length": str(len(header))})
    assert response.status_code == 400
    if size != "9" * 5000:  # json refuses an integer of 5,000 digits before the field is read
        assert response.json() == {"error": BINARY_SIZE_ERROR}


@pytest.mark.parametrize("length", ["\xb2", "\xb9", "9" * 5000, "-1", " 3", "99999"])
def test_a_bad_header_length_is_a_400_that_does_not_echo_it(
    client: ASGIClient, artifact: Artifact, length: str
) -> None:
    body = json.dumps({"inputs": [tensor()]}).encode()
    response = infer(
        client, artifact, body, headers={"Inference-Header-Content-Length": length.encode("latin-1")}
    )
    assert (response.status_code, response.json()) == (
        400,
        {"error": f"Inference-Header-Content-Length must be a number of bytes from 0 to {len(body)}"},
    )


def test_a_long_id_is_refused_and_not_echoed(client: ASGIClient, artifact: Artifact) -> None:
    response = infer(client, artifact, {"id": "x" * 500_000, "inputs": [tensor()]})
    assert (response.status_code, response.json()) == (
        400,
        {"error": "invalid inference request: id: String should have at most 256 characters"},
    )


def test_long_input_names_are_not_echoed(client: ASGIClient, artifact: Artifact) -> None:
    response = infer(client, artifact, {"inputs": [tensor(name="n" * 100_000)]})
    assert response.status_code == 400
    assert len(response.content) < 300
    assert response.json() == {
        "error": f"expected one input named 'text', got ['{'n' * 64}'... (100,000 characters)]"
    }


def test_an_unknown_model_name_is_not_echoed_in_full(client: ASGIClient) -> None:
    long_name = "m" * 900_000
    response = client.post("/predict-next", json={"text": "harles dar", "model": long_name})
    assert response.status_code == 404
    assert len(response.content) < 400
    assert response.json()["detail"].startswith(f"Unknown model '{'m' * 64}'... (900,000 characters): ")
    protocol = client.get(f"/v2/models/{'m' * 10_000}")
    assert (protocol.status_code, protocol.json()) == (
        404,
        {"error": f"model '{'m' * 64}'... (10,000 characters) is not served here"},
    )


def test_the_advertised_version_is_served(client: ASGIClient, artifact: Artifact) -> None:
    base = f"/v2/models/{artifact.name}"
    assert client.get(f"{base}/versions/1").json() == client.get(base).json()
    ready = client.get(f"{base}/versions/1/ready")
    assert ready.json() == {"name": artifact.name, "ready": ready.status_code == 200}
    versioned = infer(client, artifact, {"inputs": [tensor()]}).json()
    response = client.post(f"{base}/versions/1/infer", json={"inputs": [tensor()]})
    assert (response.status_code, response.json()) == (200, versioned)


def test_another_version_is_a_protocol_404(client: ASGIClient, artifact: Artifact) -> None:
    base = f"/v2/models/{artifact.name}/versions/2"
    expected = (404, {"error": f"model '{artifact.name}' has no version '2' (versions: 1)"})
    for method, path in [("GET", base), ("GET", f"{base}/ready"), ("POST", f"{base}/infer")]:
        response = client.request(method, path, json={"inputs": [tensor()]})
        assert (response.status_code, response.json()) == expected


def test_unrouted_v2_paths_answer_in_the_protocol_shape(client: ASGIClient, artifact: Artifact) -> None:
    missing = client.get("/v2/nothing/here")
    assert (missing.status_code, missing.json()) == (404, {"error": "Not Found"})
    wrong_method = client.get(f"/v2/models/{artifact.name}/infer")
    assert (wrong_method.status_code, wrong_method.json()) == (405, {"error": "Method Not Allowed"})


def test_an_oversized_v2_body_is_a_protocol_413(make_client: Any, artifact: Artifact) -> None:
    small = make_client(MAX_BODY_BYTES=100)
    response = infer(small, artifact, {"inputs": [tensor(data=["a" * 200])]})
    assert (response.status_code, response.json()) == (
        413,
        {"error": "Request body is larger than the limit of 100 bytes (MAX_BODY_BYTES)"},
    )
