"""Several models at once: GET /models, a model named on every endpoint, 404 for unknown names."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

from model.alphabet import ALPHABET, encode, simplify
from model.artifact import Artifact, load
from service.app import create_app
from tests.utils.client import ASGIClient, ExplicitSettings
from tests.utils.errors import error_body
from tests.utils.served import served_accuracy, served_probabilities

RNN, LSTM = "test-rnn-16", "test-lstm-8"
UNKNOWN = "Unknown model 'gru': the models served are test-lstm-8, test-rnn-16"
TEXT = "On the Origin of Species by Means of Natural Selection"


@pytest.fixture(scope="module")
def lstm(two_models: Path) -> Artifact:
    return load(two_models / "lstm")


def test_models_lists_both_in_name_order_with_the_best_as_default(
    models_client: ASGIClient, two_models: Path
) -> None:
    response = models_client.get("/models")
    assert response.status_code == 200
    listed = response.json()["models"]
    assert [(m["name"], m["architecture"], m["context"], m["default"]) for m in listed] == [
        (LSTM, "lstm", 20, False),
        (RNN, "rnn", 10, True),
    ]
    tests = {m["name"]: m["metrics"]["test"]["accuracy"] for m in listed}
    assert tests[RNN] > tests[LSTM]  # the default is the better one on the test positions
    for model in listed:
        assert model == models_client.get(f"/model?model={model['name']}").json()
    lstm_manifest = load(two_models / "lstm").manifest
    assert listed[0]["metrics"] == lstm_manifest["metrics"]
    assert listed[0]["baseline"] == lstm_manifest["baseline"]
    assert (listed[0]["n_hidden"], listed[0]["parameters"]) == (
        8,
        4 * 8 * 27 + 4 * 8 * 8 + 4 * 8 + 27 * 8 + 27,
    )


def test_model_without_a_name_describes_the_default(models_client: ASGIClient) -> None:
    assert models_client.get("/model").json() == models_client.get(f"/model?model={RNN}").json()


def test_predict_next_reads_the_named_models_context(models_client: ASGIClient, lstm: Artifact) -> None:
    body = models_client.post("/predict-next", json={"text": TEXT, "top_k": 27, "model": LSTM}).json()
    window = simplify(TEXT)[-20:]
    assert body["window"] == window == "of natural selection"
    probabilities = served_probabilities(lstm.model, encode(window)[None, :])[0]
    assert [entry["probability"] for entry in body["top"]] == sorted(probabilities.tolist(), reverse=True)
    assert body["next_char"] == ALPHABET[int(np.argmax(probabilities))]
    default = models_client.post("/predict-next", json={"text": TEXT}).json()
    assert default["window"] == " selection"


def test_batch_uses_the_named_model(models_client: ASGIClient, lstm: Artifact) -> None:
    texts = ["harles darwin wrote on the", TEXT]
    body = models_client.post("/predict-next/batch", json={"texts": texts, "model": LSTM}).json()
    windows = [simplify(text)[-20:] for text in texts]
    assert [p["window"] for p in body["predictions"]] == windows
    single = [
        models_client.post("/predict-next", json={"text": text, "model": LSTM}).json()["next_char"]
        for text in texts
    ]
    assert [p["next_char"] for p in body["predictions"]] == single


def row(top: list[dict[str, Any]]) -> NDArray[np.float32]:
    """A /predict-next answer with top_k 27 as a row in alphabet order."""
    result = np.zeros(27, np.float32)
    result[[ALPHABET.index(entry["char"]) for entry in top]] = [entry["probability"] for entry in top]
    return result


@pytest.mark.parametrize("name", [LSTM, RNN])
def test_every_route_answers_every_model_with_the_same_bits(
    models_client: ASGIClient, two_models: Path, name: str
) -> None:
    model = load(two_models / ("lstm" if name == LSTM else "rnn")).model
    texts = [TEXT, "harles darwin", "a", "the origin of species by means of"]
    single = [
        row(models_client.post("/predict-next", json={"text": t, "top_k": 27, "model": name}).json()["top"])
        for t in texts
    ]
    batch = models_client.post("/predict-next/batch", json={"texts": texts, "top_k": 27, "model": name})
    batched = [row(prediction["top"]) for prediction in batch.json()["predictions"]]
    infer = {"inputs": [{"name": "text", "shape": [4], "datatype": "BYTES", "data": texts}]}
    outputs = models_client.post(f"/v2/models/{name}/infer", json=infer).json()["outputs"]
    inferred = np.array(outputs[1]["data"], np.float32).reshape(4, 27)
    windows = [simplify(t)[-model.context :] for t in texts]
    expected = [served_probabilities(model, encode(w)[None, :])[0].astype(np.float32) for w in windows]
    assert np.array_equal(np.array(single), np.array(expected))
    assert np.array_equal(np.array(batched), np.array(expected))
    assert np.array_equal(inferred, np.array(expected))
    assert models_client.get(f"/v2/models/{name}").json()["name"] == name


def test_the_inference_protocol_refuses_an_unknown_model(models_client: ASGIClient) -> None:
    response = models_client.get("/v2/models/gru/ready")
    assert (response.status_code, response.json()) == (404, {"error": "model 'gru' is not served here"})


def test_generate_uses_the_named_model(models_client: ASGIClient, lstm: Artifact) -> None:
    request = {"text": TEXT, "n": 30, "temperature": 0.8, "seed": 3, "model": LSTM}
    body = models_client.post("/generate", json=request).json()
    produced = lstm.model.generate(encode(simplify(TEXT)[-20:]), 30, 0.8, seed=3)
    continuation = "".join(ALPHABET[i] for i in produced)
    assert body == {"window": simplify(TEXT)[-20:], "continuation": continuation, "finish_reason": "length"}


def test_post_accuracy_uses_the_named_model(models_client: ASGIClient, lstm: Artifact) -> None:
    body = models_client.post("/accuracy", json={"text": TEXT, "model": LSTM}).json()
    assert body == served_accuracy(lstm.model, TEXT)


def test_get_accuracy_is_the_named_models_record(models_client: ASGIClient, lstm: Artifact) -> None:
    body = models_client.get(f"/accuracy?model={LSTM}").json()
    assert body["test"] == lstm.manifest["metrics"]["test"]
    assert body["baseline"] == lstm.manifest["baseline"]
    assert body["sentence"] == lstm.manifest["sentence"]
    assert body["sentence"].startswith("The LSTM guesses the next character correctly ")
    assert models_client.get("/accuracy").json()["sentence"].startswith("The ReLU RNN ")


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/model?model=gru", None),
        ("GET", "/accuracy?model=gru", None),
        ("POST", "/predict-next", {"text": "abc", "model": "gru"}),
        ("POST", "/predict-next/batch", {"texts": ["abc"], "model": "gru"}),
        ("POST", "/generate", {"text": "abc", "model": "gru"}),
        ("POST", "/accuracy", {"text": "abc", "model": "gru"}),
    ],
)
def test_an_unknown_model_is_404_naming_the_known_ones(
    models_client: ASGIClient, method: str, path: str, body: dict[str, Any] | None
) -> None:
    response = models_client.request(method, path, json=body)
    assert (response.status_code, error_body(response)) == (404, {"detail": UNKNOWN})


def test_a_model_name_must_be_a_string(models_client: ASGIClient) -> None:
    response = models_client.post("/predict-next", json={"text": "abc", "model": 3})
    assert response.status_code == 422
    assert error_body(response)["detail"][0]["loc"] == ["body", "model"]


def test_default_model_names_the_default(two_models: Path) -> None:
    client = ASGIClient(create_app(ExplicitSettings(CHAR_RNN_ARTIFACTS=(two_models,), DEFAULT_MODEL=LSTM)))
    try:
        listed = client.get("/models").json()["models"]
        assert [(m["name"], m["default"]) for m in listed] == [(LSTM, True), (RNN, False)]
        assert client.post("/predict-next", json={"text": TEXT}).json()["window"] == simplify(TEXT)[-20:]
    finally:
        client.close()


def test_a_comma_separated_list_serves_exactly_those(two_models: Path) -> None:
    settings = ExplicitSettings(CHAR_RNN_ARTIFACTS=(two_models / "lstm",))
    client = ASGIClient(create_app(settings))
    try:
        listed = client.get("/models").json()["models"]
        assert [(m["name"], m["default"]) for m in listed] == [(LSTM, True)]
    finally:
        client.close()


def test_metrics_label_each_model(two_models: Path) -> None:
    client = ASGIClient(create_app(ExplicitSettings(CHAR_RNN_ARTIFACTS=(two_models,))))
    try:
        client.post("/predict-next", json={"text": "abc", "model": LSTM})
        client.post("/predict-next", json={"text": "abc", "model": LSTM})
        client.post("/predict-next/batch", json={"texts": ["a", "b"]})
        text = client.get("/metrics").text
    finally:
        client.close()
    assert f'char_rnn_predict_cache_hits_total{{model="{LSTM}"}} 1.0' in text
    assert f'char_rnn_predict_cache_misses_total{{model="{LSTM}"}} 1.0' in text
    assert f'char_rnn_predict_cache_entries{{model="{RNN}"}} 0.0' in text
    assert f'char_rnn_batch_size_count{{model="{RNN}"}} 1.0' in text
    assert f'char_rnn_batch_size_sum{{model="{RNN}"}} 2.0' in text
