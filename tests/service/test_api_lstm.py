"""POST /lstm/step: the assignment's three inputs against closed forms, own weights, and refusals."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from model.lstm import WEIGHT_NAMES, step
from tests.utils.client import ASGIClient
from tests.utils.errors import error, error_body

JSON = {"content-type": "application/json"}


def sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


def example_closed_form(x: list[float], h: float = 0.05, c: float = -0.02) -> dict[str, list[float]]:
    """The example weights by hand: f = s(8 x1 - 4), i = s(9 x2 - 4.5), o = s(10 x3 - 5), c~ = tanh(h)."""
    f = sigmoid(8 * x[0] - 4)
    i = sigmoid(9 * x[1] - 4.5)
    o = sigmoid(10 * x[2] - 5)
    c_tilde = math.tanh(h)
    c_new = f * c + i * c_tilde
    return {"f": [f], "i": [i], "o": [o], "c_tilde": [c_tilde], "c": [c_new], "h": [o * math.tanh(c_new)]}


@pytest.mark.parametrize("x", [[1, 0, 0], [0, 1, 0], [1, 0, 1]])
def test_example_inputs_match_the_closed_forms(client: ASGIClient, x: list[float]) -> None:
    response = client.post("/lstm/step", json={"x": x})
    assert response.status_code == 200
    body = response.json()
    expected = example_closed_form(x)
    assert body.keys() == expected.keys()
    for name, value in expected.items():
        # model.numerics.sigmoid is exact to an ulp of 1, absolutely (its docstring says why)
        np.testing.assert_allclose(body[name], value, rtol=0, atol=2**-52, err_msg=name)


def test_example_input_one_in_numbers(client: ASGIClient) -> None:
    body = client.post("/lstm/step", json={"x": [1, 0, 0]}).json()
    assert body["f"][0] == pytest.approx(0.98201379, abs=1e-8)  # sigmoid(4)
    assert body["i"][0] == pytest.approx(0.01098694, abs=1e-8)  # sigmoid(-4.5)
    assert body["o"][0] == pytest.approx(0.00669285, abs=1e-8)  # sigmoid(-5)


def test_given_state_with_the_example_weights(client: ASGIClient) -> None:
    body = client.post("/lstm/step", json={"x": [0, 1, 1], "h": [-0.5], "c": [0.3]}).json()
    expected = example_closed_form([0, 1, 1], h=-0.5, c=0.3)
    for name, value in expected.items():
        np.testing.assert_allclose(body[name], value, rtol=0, atol=2**-52, err_msg=name)


def own_weights(n_hidden: int, n_in: int, seed: int = 0) -> dict[str, list[Any]]:
    rng = np.random.default_rng(seed)
    return {
        name: (
            rng.normal(size=(n_hidden, n_hidden + n_in))
            if name.startswith("W")
            else rng.normal(size=n_hidden)
        ).tolist()
        for name in WEIGHT_NAMES
    }


def test_own_weights_match_model_lstm(client: ASGIClient) -> None:
    weights = own_weights(n_hidden=3, n_in=2)
    request: dict[str, Any] = {
        "x": [0.5, -1.0],
        "h": [0.1, 0.2, 0.3],
        "c": [0.0, -0.4, 0.9],
        "weights": weights,
    }
    body = client.post("/lstm/step", json=request).json()
    assert body == step(request["x"], request["h"], request["c"], weights).as_lists()


def test_own_weights_default_to_a_zero_state(client: ASGIClient) -> None:
    weights = own_weights(n_hidden=2, n_in=1, seed=1)
    body = client.post("/lstm/step", json={"x": [1.0], "weights": weights}).json()
    assert body == step([1.0], [0.0, 0.0], [0.0, 0.0], weights).as_lists()


EXAMPLE_SIZES = (
    "the assignment's example weights take x of length 3 and h, c of length 1; got 2 "
    "(pass weights for other sizes)"
)
W_1_2 = own_weights(1, 1)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"x": [1, 0]}, error(["body", "x"], "value_error", "x: " + EXAMPLE_SIZES)),
        ({"x": [1, 0, 0], "h": [0.1, 0.2]}, error(["body", "h"], "value_error", "h: " + EXAMPLE_SIZES)),
        ({"x": [1, 0, 0], "c": [0.1, 0.2]}, error(["body", "c"], "value_error", "c: " + EXAMPLE_SIZES)),
        (
            {"x": []},
            error(["body", "x"], "too_short", "List should have at least 1 item after validation, not 0"),
        ),
        (
            {"x": [0.0] * 257},
            error(["body", "x"], "too_long", "List should have at most 256 items after validation, not 257"),
        ),
        ({"x": [1, "0", 0]}, error(["body", "x", 1], "float_type", "Input should be a valid number")),
        ({"x": [1, None, 0]}, error(["body", "x", 1], "float_type", "Input should be a valid number")),
        ({"x": [1, True, 0]}, error(["body", "x", 1], "float_type", "Input should be a valid number")),
        ({"x": "100"}, error(["body", "x"], "list_type", "Input should be a valid list")),
        ({"x": [[1, 0, 0]]}, error(["body", "x", 0], "float_type", "Input should be a valid number")),
        ({}, error(["body", "x"], "missing", "Field required")),
        ({"x": [1, 0, 0], "y": 1}, error(["body", "y"], "extra_forbidden", "Extra inputs are not permitted")),
        (
            {"x": [1, 2], "weights": W_1_2},
            error(
                ["body", "weights", "W_f"],
                "value_error",
                "W_f: expected shape (1, 3) = (H, H + X), got (1, 2)",
            ),
        ),
        (
            {"x": [1], "h": [0.0, 0.0], "weights": W_1_2},
            error(
                ["body", "weights", "W_f"],
                "value_error",
                "W_f: expected shape (2, 3) = (H, H + X), got (1, 2)",
            ),
        ),
        (
            {"x": [1], "c": [1.0, 2.0], "h": [0.0], "weights": W_1_2},
            error(["body", "c"], "value_error", "c: expected shape (1,) like h, got (2,)"),
        ),
        (
            {"x": [1], "weights": {**W_1_2, "b_c": [0.0, 1.0]}},
            error(["body", "weights", "b_c"], "value_error", "b_c: expected shape (1,), got (2,)"),
        ),
        (
            {"x": [1], "weights": {name: value for name, value in W_1_2.items() if name != "b_o"}},
            error(["body", "weights", "b_o"], "missing", "Field required"),
        ),
        (
            {"x": [1], "weights": {**W_1_2, "W_x": [[1.0]]}},
            error(["body", "weights", "W_x"], "extra_forbidden", "Extra inputs are not permitted"),
        ),
        (
            {"x": [1], "weights": {**W_1_2, "W_i": [1.0]}},
            error(["body", "weights", "W_i", 0], "list_type", "Input should be a valid list"),
        ),
        (
            {"x": [1], "weights": {**W_1_2, "W_i": [[0.0] * 513]}},
            error(
                ["body", "weights", "W_i", 0],
                "too_long",
                "List should have at most 512 items after validation, not 513",
            ),
        ),
        (
            {"x": [1], "weights": {**W_1_2, "W_i": [[0.0, 0.0]] * 257}},
            error(
                ["body", "weights", "W_i"],
                "too_long",
                "List should have at most 256 items after validation, not 257",
            ),
        ),
    ],
)
def test_lstm_step_refuses_bad_bodies(client: ASGIClient, body: dict[str, Any], expected: Any) -> None:
    response = client.post("/lstm/step", json=body)
    assert (response.status_code, error_body(response)) == (422, expected)


def test_ragged_weight_matrix_names_the_field(client: ASGIClient) -> None:
    body = {"x": [1], "weights": {**W_1_2, "W_o": [[0.1, 0.2], [0.3]]}}
    response = client.post("/lstm/step", json=body)
    assert response.status_code == 422
    (item,) = response.json()["detail"]
    assert item["loc"] == ["body", "weights", "W_o"]
    assert item["msg"].startswith("W_o: not an array of numbers")


@pytest.mark.parametrize(
    ("content", "loc"),
    [
        (b'{"x": [1, NaN, 0]}', ["body", "x", 1]),
        (b'{"x": [1, 0, Infinity]}', ["body", "x", 2]),
        (b'{"x": [1, 0, 0], "h": [-Infinity]}', ["body", "h", 0]),
        (b'{"x": [1, 0, 0], "c": [NaN]}', ["body", "c", 0]),
    ],
)
def test_non_finite_numbers_are_refused(client: ASGIClient, content: bytes, loc: list[str | int]) -> None:
    response = client.post("/lstm/step", content=content, headers=JSON)
    assert (response.status_code, error_body(response)) == (
        422,
        error(loc, "finite_number", "Input should be a finite number"),
    )


def test_non_finite_weights_are_refused(client: ASGIClient) -> None:
    content = b'{"x": [1], "weights": {"W_f": [[0.1, NaN]], "b_f": [0], "W_i": [[0, 0]], "b_i": [0], '
    content += b'"W_o": [[0, 0]], "b_o": [0], "W_c": [[0, 0]], "b_c": [0]}}'
    response = client.post("/lstm/step", content=content, headers=JSON)
    expected = error(["body", "weights", "W_f", 0, 1], "finite_number", "Input should be a finite number")
    assert (response.status_code, error_body(response)) == (422, expected)


def test_extreme_values_within_the_bound_give_finite_gates(make_client: Callable[..., ASGIClient]) -> None:
    client = make_client(MAX_BODY_BYTES=20_000_000)  # the largest weights are about 5 MB of JSON
    weights = {name: ([[1e6] * 257] * 256 if name.startswith("W") else [-1e6] * 256) for name in WEIGHT_NAMES}
    body = client.post(
        "/lstm/step", json={"x": [1e6], "h": [1e6] * 256, "c": [-1e6] * 256, "weights": weights}
    )
    assert body.status_code == 200
    assert all(math.isfinite(value) for values in body.json().values() for value in values)


@pytest.mark.parametrize(
    ("value", "kind", "relation"),
    [
        (1.0000001e6, "less_than_equal", "less than or equal to 1000000"),
        (-1e7, "greater_than_equal", "greater than or equal to -1000000"),
    ],
)
def test_values_beyond_the_bound_name_it(client: ASGIClient, value: float, kind: str, relation: str) -> None:
    response = client.post("/lstm/step", json={"x": [1, 0, value]})
    expected = error(["body", "x", 2], kind, f"Input should be {relation}")
    assert (response.status_code, error_body(response)) == (422, expected)
