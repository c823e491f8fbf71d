"""GET / and its files, GET /models, and POST /accuracy with details (in process)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from model.alphabet import simplify
from model.artifact import Artifact
from service.routes.demo import MEDIA_TYPES
from tests.utils.client import ASGIClient
from tests.utils.errors import error_body

PARAGRAPH = (
    "When we look to the individuals of the same variety or sub-variety of our older cultivated "
    "plants and animals, one of the first points which strikes us"
)


def test_the_page_is_served_at_the_root_with_a_policy_that_forbids_other_origins(client: ASGIClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["content-security-policy"].startswith("default-src 'self';")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert '<script src="/demo/demo.js" defer></script>' in response.text
    assert '<link rel="stylesheet" href="/demo/demo.css">' in response.text
    # Nothing is loaded from elsewhere: every src and href is local, a fragment or a data: URL.
    for marker in ('src="http', 'href="http', "//cdn", "@import"):
        assert marker not in response.text


@pytest.mark.parametrize("name", ["demo.js", "demo.css"])
def test_the_pages_files_are_served_with_their_types(client: ASGIClient, name: str) -> None:
    response = client.get(f"/demo/{name}")
    assert response.status_code == 200
    assert response.headers["content-type"] == MEDIA_TYPES[name]
    assert "http://" not in response.text and "https://" not in response.text


@pytest.mark.parametrize("name", ["index.html", "missing.js", "..%2Fapp.py"])
def test_other_names_under_demo_are_not_found(client: ASGIClient, name: str) -> None:
    response = client.get(f"/demo/{name}")
    assert response.status_code == 404
    assert error_body(response) == {"detail": "Not Found"}


def test_the_page_is_left_out_of_the_openapi_document(client: ASGIClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert "/" not in paths and "/demo/{name}" not in paths
    assert "get" in paths["/models"]


def test_models_lists_the_loaded_model_as_the_default(client: ASGIClient) -> None:
    body = client.get("/models").json()
    assert body == {"models": [client.get("/model").json()]}
    assert body["models"][0]["default"] is True


def test_accuracy_details_give_every_guess_and_agree_with_the_count(
    client: ASGIClient, artifact: Artifact
) -> None:
    body = client.post("/accuracy", json={"text": PARAGRAPH, "details": True}).json()
    details = body["details"]
    text = simplify(PARAGRAPH)
    assert details["text"] == text
    assert details["start"] == 1  # every position after the first letter, as the count
    assert len(details["predicted"]) == len(details["probabilities"]) == body["total"] == len(text) - 1
    hits = sum(guess == actual for guess, actual in zip(details["predicted"], text[1:], strict=True))
    assert hits == body["correct"]
    assert {key: body[key] for key in ("accuracy", "bits_per_char", "correct", "total")} == client.post(
        "/accuracy", json={"text": PARAGRAPH}
    ).json()


@pytest.mark.parametrize("position", [1, 4, 10, 57, 141])
def test_each_guess_is_the_top_prediction_for_the_text_before_it(client: ASGIClient, position: int) -> None:
    details = client.post("/accuracy", json={"text": PARAGRAPH, "details": True}).json()["details"]
    window = details["text"][max(0, position - 10) : position]  # up to 10 characters, as counted
    top = client.post("/predict-next/batch", json={"texts": [window], "top_k": 1}).json()["predictions"][0]
    guess = top["top"][0]
    assert (top["window"], details["predicted"][position - 1]) == (window, guess["char"])
    # float32 matrix products of other shapes round differently in the last digits.
    assert details["probabilities"][position - 1] == pytest.approx(guess["probability"], rel=1e-6)


def test_without_details_the_answer_has_no_details_field(client: ASGIClient) -> None:
    body = client.post("/accuracy", json={"text": PARAGRAPH, "details": False}).json()
    assert set(body) == {"accuracy", "bits_per_char", "correct", "total"}


def test_details_must_be_a_boolean(client: ASGIClient) -> None:
    response = client.post("/accuracy", json={"text": PARAGRAPH, "details": "yes"})
    assert response.status_code == 422
    assert [(item["loc"], item["type"]) for item in error_body(response)["detail"]] == [
        (["body", "details"], "bool_type")
    ]


def test_details_are_bounded_by_the_text_limit(make_client: Callable[..., ASGIClient]) -> None:
    client = make_client(MAX_TEXT_CHARS=50)
    response = client.post("/accuracy", json={"text": PARAGRAPH, "details": True})
    assert response.status_code == 422
    assert error_body(response)["detail"] == [
        {
            "type": "string_too_long",
            "loc": ["body", "text"],
            "msg": "String should have at most 50 characters (MAX_TEXT_CHARS)",
        }
    ]
