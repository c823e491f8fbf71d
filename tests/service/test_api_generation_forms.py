"""/generate (whole and streamed) and /v1/completions (whole and streamed): the same characters
and logprobs bit for bit in every form; their parameters and refusals."""

from __future__ import annotations

from typing import Any

import pytest

from model.alphabet import simplify
from tests.utils.client import ASGIClient
from tests.utils.errors import error, error_body
from tests.utils.sse import sse_data, sse_json, streamed_generation

TEXT = "On the Origin of Species by Means of Natural Selec"
REQUESTS: list[dict[str, Any]] = [
    {"n": 40},
    {"n": 60, "temperature": 0.8, "seed": 7},
    {"n": 60, "temperature": 1.3, "seed": 2, "top_p": 0.8, "logprobs": 5},
    {"n": 60, "temperature": 1.0, "seed": 5, "sampling_top_k": 3, "logprobs": 0},
    {"n": 200, "temperature": 0.9, "seed": 1, "stop": [" the", "q"], "logprobs": 2},
]


def completion_request(request: dict[str, Any]) -> dict[str, Any]:
    """The /v1/completions request for a /generate request (OpenAI's temperature defaults to 1)."""
    names = {"n": "max_tokens", "text": "prompt"}
    return {"temperature": 0, **{names.get(key, key): value for key, value in request.items()}}


def as_generation(completion: dict[str, Any], window: str) -> dict[str, Any]:
    choice = completion["choices"][0]
    answer = {"window": window, "continuation": choice["text"], "finish_reason": choice["finish_reason"]}
    if choice["logprobs"] is not None:
        logprobs = choice["logprobs"]
        answer["logprobs"] = [
            {"char": char, "logprob": logprob, "top": [{"char": c, "logprob": lp} for c, lp in top.items()]}
            for char, logprob, top in zip(
                logprobs["tokens"], logprobs["token_logprobs"], logprobs["top_logprobs"], strict=True
            )
        ]
        assert logprobs["text_offset"] == list(range(len(choice["text"])))
    return answer


def folded_completion(chunks: list[dict[str, Any]]) -> dict[str, Any]:
    """A stream of completion chunks as one completion."""
    choices = [chunk["choices"][0] for chunk in chunks]
    assert all(choice["finish_reason"] is None for choice in choices[:-1])
    logprobs = [choice["logprobs"] for choice in choices if choice["logprobs"] is not None]
    merged = None
    if logprobs:
        merged = {key: [item for part in logprobs for item in part[key]] for key in logprobs[0]}
    text = "".join(choice["text"] for choice in choices)
    return {"choices": [{"text": text, "logprobs": merged, "finish_reason": choices[-1]["finish_reason"]}]}


@pytest.mark.parametrize("request_fields", REQUESTS)
def test_every_form_gives_the_same_characters_and_logprobs(
    client: ASGIClient, request_fields: dict[str, Any]
) -> None:
    body = {"text": TEXT, **request_fields}
    whole = client.post("/generate", json=body)
    streamed = client.post("/generate", json={**body, "stream": True})
    assert (whole.status_code, streamed.status_code) == (200, 200)
    assert streamed.headers["content-type"] == "text/event-stream; charset=utf-8"
    answer = whole.json()
    assert streamed_generation(sse_json(streamed.text)) == answer
    assert answer["window"] == simplify(TEXT)[-10:]
    assert ("logprobs" in answer) == ("logprobs" in request_fields)
    if "sampling_top_k" in body:
        return  # OpenAI's completions have no top_k
    v1 = completion_request(body)
    completion = client.post("/v1/completions", json=v1)
    chunks = client.post("/v1/completions", json={**v1, "stream": True})
    assert (completion.status_code, chunks.status_code) == (200, 200)
    assert as_generation(completion.json(), answer["window"]) == answer
    assert sse_data(chunks.text)[-1] == "[DONE]"
    assert as_generation(folded_completion(sse_json(chunks.text)), answer["window"]) == answer


def test_a_stream_sends_one_event_per_character_then_the_finish(client: ASGIClient) -> None:
    response = client.post("/generate", json={"text": TEXT, "n": 5, "stream": True})
    events = sse_json(response.text)
    assert [len(event["text"]) for event in events[:-1]] == [1] * 5
    assert events[-1] == {"finish_reason": "length", "window": simplify(TEXT)[-10:], "generated_chars": 5}
    assert response.headers["cache-control"] == "no-cache"


def test_a_stop_sequence_ends_the_continuation_before_it(client: ASGIClient) -> None:
    free = client.post("/generate", json={"text": TEXT, "n": 100}).json()["continuation"]
    stop = free[20:23]
    answer = client.post("/generate", json={"text": TEXT, "n": 100, "stop": [stop]}).json()
    assert answer["finish_reason"] == "stop"
    assert answer["continuation"] == free[: free.index(stop)]


def test_a_streamed_echo_starts_with_the_prompt_as_sent(client: ASGIClient) -> None:
    body = {"prompt": "Natural selec!", "max_tokens": 4, "temperature": 0, "echo": True}
    whole = client.post("/v1/completions", json=body).json()["choices"][0]["text"]
    chunks = sse_json(client.post("/v1/completions", json={**body, "stream": True}).text)
    assert chunks[0]["choices"][0]["text"] == "Natural selec!"
    assert "".join(chunk["choices"][0]["text"] for chunk in chunks) == whole


def test_a_long_text_generates_from_its_last_characters(client: ASGIClient) -> None:
    long_text = "x" * 5000 + " natural selec"
    body = client.post("/generate", json={"text": long_text, "n": 20}).json()
    assert body == client.post("/generate", json={"text": "natural selec", "n": 20}).json()


def test_a_completion_takes_one_stop_string_as_a_list_of_one(client: ASGIClient) -> None:
    body = {"text": TEXT, "n": 100, "temperature": 0.9, "seed": 3}
    free = client.post("/generate", json=body).json()["continuation"]
    stop = free[30:33]
    generated = client.post("/generate", json={**body, "stop": [stop]}).json()
    completion = client.post(
        "/v1/completions",
        json={"prompt": TEXT, "max_tokens": 100, "temperature": 0.9, "seed": 3, "stop": stop},
    ).json()
    assert completion["choices"][0]["text"] == generated["continuation"] == free[: free.index(stop)]
    assert completion["choices"][0]["finish_reason"] == "stop"


def test_completions_answer_openais_fields_counted_in_characters(client: ASGIClient) -> None:
    response = client.post(
        "/v1/completions", json={"prompt": "Natural selec!", "max_tokens": 7, "echo": True}
    )
    body = response.json()
    assert response.status_code == 200
    assert body["id"] == f"cmpl-{response.headers['x-request-id']}"
    assert (body["object"], body["model"], isinstance(body["created"], int)) == (
        "text_completion",
        "test-rnn-16",
        True,
    )
    assert body["choices"][0]["text"].startswith("Natural selec!")
    assert len(body["choices"][0]["text"]) == len("Natural selec!") + 7
    assert body["usage"] == {"prompt_tokens": 14, "completion_tokens": 7, "total_tokens": 21}


def test_a_completion_stream_with_usage_ends_with_a_usage_chunk(client: ASGIClient) -> None:
    body = {"prompt": "natural", "max_tokens": 3, "stream": True, "stream_options": {"include_usage": True}}
    chunks = sse_json(client.post("/v1/completions", json=body).text)
    assert [chunk["choices"] for chunk in chunks[-2:]] == [
        [{"text": "", "index": 0, "logprobs": None, "finish_reason": "length"}],
        [],
    ]
    assert chunks[-1]["usage"] == {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10}
    assert all(chunk["usage"] is None for chunk in chunks[:-1])


def test_v1_models_lists_every_model(models_client: ASGIClient) -> None:
    body = models_client.get("/v1/models").json()
    assert body["object"] == "list"
    assert [(m["id"], m["object"], m["owned_by"]) for m in body["data"]] == [
        ("test-lstm-8", "model", "char-rnn-service"),
        ("test-rnn-16", "model", "char-rnn-service"),
    ]
    assert [m["created"] for m in body["data"]] == [0, 0]  # these manifests record no created_at


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        (
            {"sampling_top_k": 0},
            error(
                ["body", "sampling_top_k"], "greater_than_equal", "Input should be greater than or equal to 1"
            ),
        ),
        (
            {"sampling_top_k": 28},
            error(["body", "sampling_top_k"], "less_than_equal", "Input should be less than or equal to 27"),
        ),
        ({"top_p": 0}, error(["body", "top_p"], "greater_than", "Input should be greater than 0")),
        (
            {"top_p": 1.5},
            error(["body", "top_p"], "less_than_equal", "Input should be less than or equal to 1"),
        ),
        (
            {"stop": ["a", "b", "c", "d", "e"]},
            error(["body", "stop"], "too_long", "List should have at most 4 items after validation, not 5"),
        ),
        (
            {"stop": ["x" * 33]},
            error(["body", "stop", 0], "string_too_long", "String should have at most 32 characters"),
        ),
        (
            {"stop": [""]},
            error(["body", "stop", 0], "string_too_short", "String should have at least 1 character"),
        ),
        (
            {"logprobs": 6},
            error(["body", "logprobs"], "less_than_equal", "Input should be less than or equal to 5"),
        ),
        ({"stream": "yes"}, error(["body", "stream"], "bool_type", "Input should be a valid boolean")),
    ],
)
def test_generate_refuses_bad_generation_parameters(
    client: ASGIClient, fields: dict[str, Any], expected: Any
) -> None:
    response = client.post("/generate", json={"text": "abc", **fields})
    assert (response.status_code, error_body(response)) == (422, expected)


def openai_error(
    message: str, param: str | None, code: str | None, kind: str = "invalid_request_error"
) -> Any:
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


@pytest.mark.parametrize(
    ("fields", "status", "expected"),
    [
        (
            {"max_tokens": 0},
            400,
            openai_error(
                "max_tokens: Input should be greater than or equal to 1", "max_tokens", "greater_than_equal"
            ),
        ),
        (
            {"best_of": 2},
            400,
            openai_error("best_of: Extra inputs are not permitted", "best_of", "extra_forbidden"),
        ),
        (
            {"prompt": "?!"},
            400,
            openai_error(
                "prompt: Text simplifies to nothing but spaces: the model reads only a-z",
                "prompt",
                "value_error",
            ),
        ),
        (
            {"echo": True, "logprobs": 1},
            400,
            openai_error(
                "echo: echo with logprobs is not supported: the prompt's logprobs are not computed",
                "echo",
                "value_error",
            ),
        ),
        (
            {"stop": ["a", "b", "c", "d", "e"]},
            400,
            openai_error("stop: Value error, at most 4 stop sequences", "stop", "value_error"),
        ),
        (
            {"n": 2},
            400,
            openai_error("n: Input should be less than or equal to 1", "n", "less_than_equal"),
        ),
        (
            {"model": "gpt-4"},
            404,
            openai_error(
                "Unknown model 'gpt-4': the models served are test-rnn-16", "model", "model_not_found"
            ),
        ),
    ],
)
def test_v1_errors_take_openais_shape(
    client: ASGIClient, fields: dict[str, Any], status: int, expected: Any
) -> None:
    response = client.post("/v1/completions", json={"prompt": "natural selec", **fields})
    assert (response.status_code, response.json()) == (status, expected)


def test_v1_refuses_a_missing_prompt_and_unknown_paths_in_openais_shape(client: ASGIClient) -> None:
    missing = client.post("/v1/completions", json={"max_tokens": 3})
    assert (missing.status_code, missing.json()) == (
        400,
        openai_error("prompt: Field required", "prompt", "missing"),
    )
    unknown = client.get("/v1/chat/completions")
    assert (unknown.status_code, unknown.json()) == (404, openai_error("Not Found", None, "not_found"))
