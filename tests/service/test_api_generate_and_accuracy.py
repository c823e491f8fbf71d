"""POST /generate and POST /accuracy: answers and refusals."""

from __future__ import annotations

from typing import Any

import pytest

from model.accuracy import Positions, evaluate
from model.alphabet import ALPHABET, encode, simplify
from model.artifact import Artifact
from tests.utils.artifacts import SAMPLE_TEXT
from tests.utils.client import ASGIClient
from tests.utils.errors import error, error_body

JSON = {"content-type": "application/json"}
SPACES_ONLY = "Text simplifies to nothing but spaces: the model reads only a-z"


# --- /generate --------------------------------------------------------------------------------


def test_greedy_generation_is_the_models(client: ASGIClient, artifact: Artifact) -> None:
    response = client.post("/generate", json={"text": "The Origin of", "n": 40})
    assert response.status_code == 200
    body = response.json()
    assert body["window"] == " origin of"
    produced = artifact.model.generate(encode(body["window"]), 40, temperature=0.0)
    assert body["continuation"] == "".join(ALPHABET[index] for index in produced)


def test_sampling_is_reproducible_with_a_seed(client: ASGIClient, artifact: Artifact) -> None:
    request = {"text": "natural selection", "n": 60, "temperature": 0.8, "seed": 7}
    first, second = (client.post("/generate", json=request).json() for _ in range(2))
    assert first == second
    produced = artifact.model.generate(encode(" selection"), 60, 0.8, seed=7)
    assert first["continuation"] == "".join(ALPHABET[index] for index in produced)
    assert len(first["continuation"]) == 60
    assert set(first["continuation"]) <= set(ALPHABET)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"n": 0}, error(["body", "n"], "greater_than_equal", "Input should be greater than or equal to 1")),
        ({"n": 1001}, error(["body", "n"], "less_than_equal", "Input should be less than or equal to 1000")),
        (
            {"temperature": -1},
            error(
                ["body", "temperature"], "greater_than_equal", "Input should be greater than or equal to 0"
            ),
        ),
        (
            {"temperature": 1e-5},
            error(
                ["body", "temperature"], "value_error", "Value error, must be 0 (greedy) or at least 0.001"
            ),
        ),
        (
            {"temperature": 101},
            error(["body", "temperature"], "less_than_equal", "Input should be less than or equal to 100"),
        ),
        (
            {"seed": -1},
            error(["body", "seed"], "greater_than_equal", "Input should be greater than or equal to 0"),
        ),
        (
            {"seed": 2**53},
            error(
                ["body", "seed"],
                "less_than_equal",
                "Input should be less than or equal to 9007199254740991",
            ),
        ),
        ({"seed": 1.5}, error(["body", "seed"], "int_type", "Input should be a valid integer")),
        ({"text": "?!"}, error(["body", "text"], "value_error", SPACES_ONLY)),
    ],
)
def test_generate_refuses_bad_values(client: ASGIClient, fields: dict[str, Any], expected: Any) -> None:
    response = client.post("/generate", json={"text": "abc", **fields})
    assert (response.status_code, error_body(response)) == (422, expected)


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_generate_refuses_non_finite_temperature(client: ASGIClient, literal: str) -> None:
    content = f'{{"text": "abc", "temperature": {literal}}}'.encode()
    response = client.post("/generate", content=content, headers=JSON)
    expected = error(["body", "temperature"], "finite_number", "Input should be a finite number")
    assert (response.status_code, error_body(response)) == (422, expected)


# --- POST /accuracy ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        SAMPLE_TEXT,
        "When we look to the individuals of the same variety, one of the first points strikes us.",
        "ab",  # one position
    ],
)
def test_accuracy_is_model_accuracy_at_every_position_after_the_first(
    client: ASGIClient, artifact: Artifact, text: str
) -> None:
    response = client.post("/accuracy", json={"text": text})
    assert response.status_code == 200
    indices = encode(simplify(text))
    expected = evaluate(artifact.model, indices, Positions(1, len(indices)))
    assert response.json() == {
        "accuracy": expected.accuracy,
        "bits_per_char": expected.bits_per_char,
        "correct": expected.correct,
        "total": expected.total,
    }
    assert expected.total == len(simplify(text)) - 1


def test_accuracy_counts_each_position_as_predict_next_answers_it(client: ASGIClient) -> None:
    text = "Natural selection acts only by the preservation of profitable modifications."
    simplified = simplify(text)
    guesses = [
        client.post("/predict-next", json={"text": simplified[:end]}).json()["next_char"]
        for end in range(1, len(simplified))
    ]
    correct = sum(guess == simplified[end] for end, guess in enumerate(guesses, start=1))
    body = client.post("/accuracy", json={"text": text}).json()
    assert (body["correct"], body["total"]) == (correct, len(simplified) - 1)


def test_accuracy_starts_after_the_first_letter(client: ASGIClient, artifact: Artifact) -> None:
    response = client.post("/accuracy", json={"text": "... abc"})  # " abc": positions 2 and 3
    indices = encode(" abc")
    expected = evaluate(artifact.model, indices, Positions(2, 4))
    assert response.json()["total"] == expected.total == 2
    assert response.json()["correct"] == expected.correct


@pytest.mark.parametrize(("text", "length"), [("a", 1), ("?!", 1), ("... a", 2)])
def test_accuracy_needs_a_character_after_a_letter(client: ASGIClient, text: str, length: int) -> None:
    short = client.post("/accuracy", json={"text": text})
    expected = error(
        ["body", "text"],
        "too_short",
        f"Text simplifies to {length} characters with none after a letter; "
        "at least a letter and one character after it are needed",
    )
    assert (short.status_code, error_body(short)) == (422, expected)
    empty = client.post("/accuracy", json={"text": ""})
    assert error_body(empty) == error(
        ["body", "text"], "string_too_short", "String should have at least 1 character"
    )
