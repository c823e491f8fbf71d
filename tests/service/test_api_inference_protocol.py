"""The Open Inference Protocol routes in process: metadata, readiness, infer, errors."""

from __future__ import annotations

import json
import struct
from typing import Any

import numpy as np
import pytest

from model.alphabet import ALPHABET, encode
from model.artifact import Artifact
from tests.utils.client import ASGIClient, lifespan
from tests.utils.served import served_probabilities

TEXTS = ["harles dar", "origin of spe", "a"]


def infer_body(texts: list[str], **extra: Any) -> dict[str, Any]:
    return {"inputs": [{"name": "text", "shape": [len(texts)], "datatype": "BYTES", "data": texts}], **extra}


def test_server_metadata_and_health(client: ASGIClient) -> None:
    assert client.get("/v2").json() == {
        "name": "char-rnn-service",
        "version": "0.1.0",
        "extensions": ["binary_tensor_data"],
    }
    assert (client.get("/v2/health/live").status_code, client.get("/v2/health/live").json()) == (
        200,
        {"live": True},
    )


def test_readiness_follows_the_lifespan(make_client: Any, artifact: Artifact) -> None:
    fresh = make_client()
    model_ready = f"/v2/models/{artifact.name}/ready"
    starting = [fresh.get("/v2/health/ready"), fresh.get(model_ready)]
    assert [(r.status_code, r.json()) for r in starting] == [
        (503, {"ready": False}),
        (503, {"name": artifact.name, "ready": False}),
    ]
    with lifespan(fresh.app):
        ready = [fresh.get("/v2/health/ready"), fresh.get(model_ready)]
        assert [(r.status_code, r.json()) for r in ready] == [
            (200, {"ready": True}),
            (200, {"name": artifact.name, "ready": True}),
        ]


def test_model_metadata_names_the_tensors(client: ASGIClient, artifact: Artifact) -> None:
    body = client.get(f"/v2/models/{artifact.name}").json()
    assert body == {
        "name": artifact.name,
        "versions": ["1"],
        "platform": "numpy-char-rnn",
        "inputs": [{"name": "text", "datatype": "BYTES", "shape": [-1]}],
        "outputs": [
            {"name": "next_char", "datatype": "BYTES", "shape": [-1]},
            {"name": "probabilities", "datatype": "FP32", "shape": [-1, 27]},
        ],
    }


def test_infer_returns_the_served_probabilities(client: ASGIClient, artifact: Artifact) -> None:
    response = client.post(f"/v2/models/{artifact.name}/infer", json=infer_body(TEXTS, id="r-1"))
    assert response.status_code == 200
    body = response.json()
    assert (body["model_name"], body["model_version"], body["id"]) == (artifact.name, "1", "r-1")
    next_char, probabilities = body["outputs"]
    windows = ["harles dar", "gin of spe", "a"]
    expected = np.concatenate([served_probabilities(artifact.model, encode(w)[None, :]) for w in windows])
    assert probabilities["shape"] == [3, 27] and probabilities["datatype"] == "FP32"
    assert np.array_equal(np.array(probabilities["data"], np.float32), expected.astype(np.float32).ravel())
    assert next_char == {
        "name": "next_char",
        "shape": [3],
        "datatype": "BYTES",
        "data": [ALPHABET[int(np.argmax(row))] for row in expected],
    }


def test_infer_equals_predict_next(client: ASGIClient, artifact: Artifact) -> None:
    outputs = client.post(f"/v2/models/{artifact.name}/infer", json=infer_body(TEXTS)).json()["outputs"]
    rows = np.array(outputs[1]["data"], np.float32).reshape(3, 27)
    for text, row in zip(TEXTS, rows, strict=True):
        top = client.post("/predict-next", json={"text": text, "top_k": 27}).json()["top"]
        single = np.zeros(27, np.float32)
        single[[ALPHABET.index(entry["char"]) for entry in top]] = [entry["probability"] for entry in top]
        assert np.array_equal(row, single)


def binary_request(texts: list[str]) -> tuple[bytes, dict[str, str]]:
    raw = b"".join(struct.pack("<I", len(text.encode())) + text.encode() for text in texts)
    tensor = {
        "name": "text",
        "shape": [len(texts)],
        "datatype": "BYTES",
        "parameters": {"binary_data_size": len(raw)},
    }
    header = json.dumps({"inputs": [tensor]}).encode()
    return header + raw, {"Inference-Header-Content-Length": str(len(header))}


def test_infer_reads_the_binary_tensor_extension(client: ASGIClient, artifact: Artifact) -> None:
    body, headers = binary_request(["harles dar", "dar"])
    binary = client.post(f"/v2/models/{artifact.name}/infer", content=body, headers=headers).json()
    plain = client.post(f"/v2/models/{artifact.name}/infer", json=infer_body(["harles dar", "dar"])).json()
    assert binary == plain


def test_unknown_model_is_a_protocol_404(client: ASGIClient) -> None:
    for method, path in [
        ("GET", "/v2/models/nope"),
        ("GET", "/v2/models/nope/ready"),
        ("POST", "/v2/models/nope/infer"),
    ]:
        response = client.request(method, path, json=infer_body(["a"]))
        assert (response.status_code, response.json()) == (404, {"error": "model 'nope' is not served here"})


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (
            {"inputs": []},
            "invalid inference request: inputs: List should have at least 1 item after validation, not 0",
        ),
        (
            infer_body(["a"]) | {"inputs": [{"name": "x", "shape": [1], "datatype": "BYTES", "data": ["a"]}]},
            "expected one input named 'text', got ['x']",
        ),
        (
            {"inputs": [{"name": "text", "shape": [1], "datatype": "FP32", "data": [1.0]}]},
            "input 'text': expected datatype BYTES and shape [N]",
        ),
        (
            {"inputs": [{"name": "text", "shape": [1], "datatype": "BYTES", "data": [1]}]},
            "input 'text': data must be a list of strings",
        ),
        (
            {"inputs": [{"name": "text", "shape": [2], "datatype": "BYTES", "data": ["a"]}]},
            "input 'text': shape [2] but 1 elements",
        ),
        (
            infer_body(["a", "1 2 3"]),
            "input 'text', element 1: Text simplifies to nothing but spaces: the model reads only a-z",
        ),
    ],
)
def test_bad_requests_are_protocol_400s(
    client: ASGIClient, artifact: Artifact, body: dict[str, Any], error: str
) -> None:
    response = client.post(f"/v2/models/{artifact.name}/infer", json=body)
    assert (response.status_code, response.json()) == (400, {"error": error})


def test_broken_binary_data_is_a_400(client: ASGIClient, artifact: Artifact) -> None:
    body, headers = binary_request(["harles dar"])
    url = f"/v2/models/{artifact.name}/infer"
    cut = client.post(url, content=body[:-3], headers=headers)  # shorter than binary_data_size
    assert cut.json() == {
        "error": "input 'text': parameters.binary_data_size must be an integer from 0 to the 11 bytes "
        "after the JSON header"
    }
    header = json.dumps(
        {
            "inputs": [
                {"name": "text", "shape": [1], "datatype": "BYTES", "parameters": {"binary_data_size": 2}}
            ]
        }
    )
    no_length = client.post(
        url,
        content=header.encode() + b"\x0a\x00",
        headers={"Inference-Header-Content-Length": str(len(header))},
    )
    assert no_length.json() == {"error": "input 'text': binary data ends inside an element's length"}
    not_utf8 = body[: -len("harles dar")] + b"\xff" * len("harles dar")
    assert client.post(url, content=not_utf8, headers=headers).json() == {
        "error": "input 'text': element 0 is not UTF-8"
    }
    bad_header = client.post(url, content=body, headers={"Inference-Header-Content-Length": "99999"})
    assert bad_header.json() == {
        "error": f"Inference-Header-Content-Length must be a number of bytes from 0 to {len(body)}"
    }


def test_more_texts_than_max_batch_is_a_400(make_client: Any, artifact: Artifact) -> None:
    small = make_client(MAX_BATCH=2)
    response = small.post(f"/v2/models/{artifact.name}/infer", json=infer_body(["a", "b", "c"]))
    assert response.json() == {"error": "input 'text': at most 2 texts (MAX_BATCH), got 3"}
