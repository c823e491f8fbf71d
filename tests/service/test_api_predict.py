"""POST /predict-next and /predict-next/batch: answers, refusals and the JSON they are written in."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from model.alphabet import ALPHABET, encode, simplify
from model.artifact import Artifact
from model.errors import ArgumentError
from service.schemas import PredictBatchResponse, PredictNextResponse
from service.served import ServedModel
from tests.utils.artifacts import SAMPLE_TEXT
from tests.utils.client import ASGIClient
from tests.utils.errors import error, error_body
from tests.utils.served import served_probabilities

JSON = {"content-type": "application/json"}
SPACES_ONLY = "Text simplifies to nothing but spaces: the model reads only a-z"


def expected_top(artifact: Artifact, window: str, k: int) -> list[dict[str, Any]]:
    """The top k straight from model.rnn, independently of the service's code."""
    probabilities = served_probabilities(artifact.model, encode(window)[None, :])[0]
    order = sorted(range(len(ALPHABET)), key=lambda index: (-probabilities[index], index))[:k]
    return [{"char": ALPHABET[index], "probability": float(probabilities[index])} for index in order]


# --- /predict-next ----------------------------------------------------------------------------


def test_predict_next_on_the_assignment_prompt(client: ASGIClient, artifact: Artifact) -> None:
    response = client.post("/predict-next", json={"text": "harles dar"})
    assert response.status_code == 200
    body = response.json()
    assert body["window"] == "harles dar"
    assert body["top"] == expected_top(artifact, "harles dar", 5)
    assert body["next_char"] == body["top"][0]["char"]
    probabilities = [entry["probability"] for entry in body["top"]]
    assert probabilities == sorted(probabilities, reverse=True)


@pytest.mark.parametrize(
    ("text", "window"),
    [
        ("On the Origin of Species, by Charles DARWIN!", "es darwin "),  # the last seq_length = 10
        ("dar", "dar"),  # shorter: fed as it is, from h_0 = 0
        ("  Dar--", " dar "),
        ("Ünïcödé -> Darwin", "c d darwin"),
        ("x" * 5000 + "!!!" + "natural selection", " selection"),
    ],
)
def test_the_window_is_the_last_seq_length_simplified_characters(
    client: ASGIClient, artifact: Artifact, text: str, window: str
) -> None:
    assert simplify(text)[-10:] == window
    body = client.post("/predict-next", json={"text": text, "top_k": 3}).json()
    assert body["window"] == window
    assert body["top"] == expected_top(artifact, window, 3)


def test_top_k_all_27_is_the_whole_distribution(client: ASGIClient) -> None:
    top = client.post("/predict-next", json={"text": "natural sel", "top_k": 27}).json()["top"]
    assert sorted(entry["char"] for entry in top) == sorted(ALPHABET)
    assert sum(entry["probability"] for entry in top) == pytest.approx(1.0, abs=1e-9)


def test_repeated_and_uncached_answers_agree(
    client: ASGIClient, make_client: Callable[..., ASGIClient]
) -> None:
    uncached = make_client(PREDICT_CACHE_SIZE=0)
    for text in ("harles dar", "the struggle for life", "harles dar", "x" * 2000 + " harles dar"):
        first = client.post("/predict-next", json={"text": text}).json()
        again = client.post("/predict-next", json={"text": text}).json()
        assert first == again == uncached.post("/predict-next", json={"text": text}).json()


@settings(max_examples=300, derandomize=True, deadline=None)
@given(
    st.text(alphabet=st.characters(codec="utf-8"), max_size=120) | st.text(alphabet="ab !.,\n", max_size=200)
)
def test_window_equals_simplify_then_last_characters(artifact: Artifact, text: str) -> None:
    served = ServedModel(artifact, max_text_chars=100_000)
    simplified = simplify(text)
    if simplified.strip():
        assert served.window(text) == simplified[-10:]
    else:
        with pytest.raises(ArgumentError):
            served.window(text)


BAD_PREDICT_BODIES = [
    ({"text": ""}, error(["body", "text"], "string_too_short", "String should have at least 1 character")),
    ({"text": "   "}, error(["body", "text"], "value_error", SPACES_ONLY)),
    ({"text": "!!! 123 ???"}, error(["body", "text"], "value_error", SPACES_ONLY)),
    ({"text": 5}, error(["body", "text"], "string_type", "Input should be a valid string")),
    ({"text": None}, error(["body", "text"], "string_type", "Input should be a valid string")),
    ({"text": ["a"]}, error(["body", "text"], "string_type", "Input should be a valid string")),
    ({}, error(["body", "text"], "missing", "Field required")),
    (
        {"text": "abc", "topk": 3},
        error(["body", "topk"], "extra_forbidden", "Extra inputs are not permitted"),
    ),
    (
        {"text": "abc", "top_k": 0},
        error(["body", "top_k"], "greater_than_equal", "Input should be greater than or equal to 1"),
    ),
    (
        {"text": "abc", "top_k": 28},
        error(["body", "top_k"], "less_than_equal", "Input should be less than or equal to 27"),
    ),
    ({"text": "abc", "top_k": "5"}, error(["body", "top_k"], "int_type", "Input should be a valid integer")),
    ({"text": "abc", "top_k": 2.5}, error(["body", "top_k"], "int_type", "Input should be a valid integer")),
    ({"text": "abc", "top_k": True}, error(["body", "top_k"], "int_type", "Input should be a valid integer")),
]


@pytest.mark.parametrize(("body", "expected"), BAD_PREDICT_BODIES)
def test_predict_next_refuses_bad_bodies(client: ASGIClient, body: dict[str, Any], expected: Any) -> None:
    response = client.post("/predict-next", json=body)
    assert response.status_code == 422
    assert error_body(response) == expected


NOT_AN_OBJECT = "Input should be a valid dictionary or object to extract fields from"
WANTS_JSON = "Expected a JSON object sent with Content-Type: application/json, got "


@pytest.mark.parametrize(
    ("content", "headers", "expected"),
    [
        (
            b'{"text": "abc"',
            JSON,
            error(["body", 14], "json_invalid", "JSON decode error: Expecting ',' delimiter"),
        ),
        (b"\xff\xfe", JSON, error(["body", 0], "json_invalid", "JSON decode error: Expecting value")),
        (b'["abc"]', JSON, error(["body"], "model_attributes_type", NOT_AN_OBJECT)),
        (b"", JSON, error(["body"], "missing", "Field required")),
        (
            b'{"text": "abc"}',
            {"content-type": "text/plain"},
            error(["body"], "content_type", WANTS_JSON + "Content-Type 'text/plain'"),
        ),
        (
            b"text=abc",
            {"content-type": "application/x-www-form-urlencoded"},
            error(["body"], "content_type", WANTS_JSON + "Content-Type 'application/x-www-form-urlencoded'"),
        ),
        (b'{"text": "abc"}', {}, error(["body"], "content_type", WANTS_JSON + "no Content-Type")),
    ],
)
def test_predict_next_refuses_what_is_not_a_json_object(
    client: ASGIClient, content: bytes, headers: dict[str, str], expected: Any
) -> None:
    response = client.post("/predict-next", content=content, headers=headers)
    assert response.status_code == 422
    assert error_body(response) == expected


def test_text_over_max_text_chars_names_the_limit(make_client: Callable[..., ASGIClient]) -> None:
    client = make_client(MAX_TEXT_CHARS=50)
    assert client.post("/predict-next", json={"text": "a" * 50}).status_code == 200
    too_long = error(
        ["body", "text"], "string_too_long", "String should have at most 50 characters (MAX_TEXT_CHARS)"
    )
    for path in ("/predict-next", "/generate", "/accuracy"):
        response = client.post(path, json={"text": "a" * 51})
        assert (response.status_code, error_body(response)) == (422, too_long), path
    batch = client.post("/predict-next/batch", json={"texts": ["ok", "a" * 51]})
    assert batch.json()["detail"][0]["loc"] == ["body", "texts", 1]


def test_default_text_limit_is_100000(client: ASGIClient) -> None:
    assert client.post("/predict-next", json={"text": "a" * 100_000}).status_code == 200
    response = client.post("/predict-next", json={"text": "a" * 100_001})
    assert (
        response.json()["detail"][0]["msg"] == "String should have at most 100000 characters (MAX_TEXT_CHARS)"
    )


# --- /predict-next/batch ----------------------------------------------------------------------


def test_batch_agrees_with_single_predictions(client: ASGIClient) -> None:
    texts = ["harles dar", "dar", "the origin of species", "a", "x" * 3000 + " natural", "dar", "Species!!"]
    response = client.post("/predict-next/batch", json={"texts": texts, "top_k": 4})
    assert response.status_code == 200
    predictions = response.json()["predictions"]
    assert len(predictions) == len(texts)
    for text, prediction in zip(texts, predictions, strict=True):
        single = client.post("/predict-next", json={"text": text, "top_k": 4}).json()
        # Bit for bit: every probability is the same float, read back from its shortest repr.
        assert prediction == single


def test_batch_of_1000_full_windows(client: ASGIClient, artifact: Artifact) -> None:
    texts = [SAMPLE_TEXT[start : start + 10] for start in range(1000)]
    texts = [text if text.strip() else "darwin" for text in texts]
    predictions = client.post("/predict-next/batch", json={"texts": texts, "top_k": 1}).json()["predictions"]
    windows = np.stack([encode(simplify(text)[-10:]) for text in texts if len(text) == 10])
    expected = np.argmax(served_probabilities(artifact.model, windows), axis=1)
    full = [prediction for text, prediction in zip(texts, predictions, strict=True) if len(text) == 10]
    assert [prediction["next_char"] for prediction in full] == [ALPHABET[index] for index in expected]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            {"texts": []},
            error(["body", "texts"], "too_short", "List should have at least 1 item after validation, not 0"),
        ),
        ({"texts": "abc"}, error(["body", "texts"], "list_type", "Input should be a valid list")),
        ({"texts": ["abc", 5]}, error(["body", "texts", 1], "string_type", "Input should be a valid string")),
        ({"texts": ["abc", "..."]}, error(["body", "texts", 1], "value_error", SPACES_ONLY)),
        (
            {"texts": ["abc"], "top_k": 0},
            error(["body", "top_k"], "greater_than_equal", "Input should be greater than or equal to 1"),
        ),
    ],
)
def test_batch_refuses_bad_bodies(client: ASGIClient, body: dict[str, Any], expected: Any) -> None:
    response = client.post("/predict-next/batch", json=body)
    assert (response.status_code, error_body(response)) == (422, expected)


def test_batch_size_limit_names_the_setting(
    client: ASGIClient, make_client: Callable[..., ASGIClient]
) -> None:
    assert client.post("/predict-next/batch", json={"texts": ["ab"] * 1000}).status_code == 200
    response = client.post("/predict-next/batch", json={"texts": ["ab"] * 1001})
    expected = error(["body", "texts"], "too_long", "List should have at most 1000 items (MAX_BATCH)")
    assert (response.status_code, error_body(response)) == (422, expected)
    small = make_client(MAX_BATCH=3)
    assert small.post("/predict-next/batch", json={"texts": ["ab"] * 4}).json()["detail"][0]["msg"] == (
        "List should have at most 3 items (MAX_BATCH)"
    )


@pytest.mark.parametrize("top_k", [1, 5, 27])
def test_predict_next_json_encoded_in_advance_is_the_response_models(client: ASGIClient, top_k: int) -> None:
    # The handler returns JSON encoded in advance, skipping FastAPI's response validation: it
    # must parse under the response model, strictly, with every value unchanged.
    for text in ("harles dar", "Origin of Species", "z", "the struggle for existence"):
        response = client.post("/predict-next", json={"text": text, "top_k": top_k})
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json"
        parsed = PredictNextResponse.model_validate_json(response.content, strict=True)
        assert parsed.model_dump() == response.json()
        assert len(parsed.top) == top_k and parsed.top[0].char == parsed.next_char


@pytest.mark.parametrize("top_k", [1, 27])
def test_batch_json_encoded_directly_is_the_response_models(client: ASGIClient, top_k: int) -> None:
    texts = ["harles dar", "Origin of Species", "z", "the struggle for existence", "harles dar"]
    response = client.post("/predict-next/batch", json={"texts": texts, "top_k": top_k})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    parsed = PredictBatchResponse.model_validate_json(response.content, strict=True)
    assert parsed.model_dump() == response.json()
    assert [len(prediction.top) for prediction in parsed.predictions] == [top_k] * len(texts)
