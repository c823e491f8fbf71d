"""The service on the committed artifact (artifacts/char-rnn-assignment), in process."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from model.alphabet import encode
from model.artifact import DEFAULT_ARTIFACT, Artifact, load
from service.app import create_app
from tests.utils.client import ASGIClient, ExplicitSettings
from tests.utils.served import served_accuracy, served_probabilities
from tests.utils.server import REPO_ROOT

SHIPPED = REPO_ROOT / DEFAULT_ARTIFACT
PARAGRAPH = (
    "When we look to the individuals of the same variety or sub-variety of our older cultivated plants "
    "and animals, one of the first points which strikes us, is, that they generally differ much more "
    "from each other, than do the individuals of any one species or variety in a state of nature."
)


@pytest.fixture(scope="module")
def shipped() -> Artifact:
    return load(SHIPPED)


@pytest.fixture(scope="module")
def shipped_client(shipped: Artifact) -> Iterator[ASGIClient]:
    client = ASGIClient(create_app(ExplicitSettings(CHAR_RNN_ARTIFACT=SHIPPED)))
    yield client
    client.close()


def test_model_reports_the_manifest(shipped_client: ASGIClient, shipped: Artifact) -> None:
    info = shipped_client.get("/model").json()
    manifest = shipped.manifest
    assert info["name"] == "char-rnn-assignment"
    assert (info["architecture"], info["n_hidden"], info["context"]) == ("rnn", 400, 10)
    assert (info["n_hidden"], info["context"]) == (manifest["n_hidden"], manifest["context"])
    assert info["metrics"] == manifest["metrics"]
    assert info["baseline"] == manifest["baseline"]
    assert info["weights_sha256"] == manifest["weights_sha256"]


def test_post_accuracy_agrees_with_model_accuracy(shipped_client: ASGIClient, shipped: Artifact) -> None:
    body = shipped_client.post("/accuracy", json={"text": PARAGRAPH}).json()
    assert body == served_accuracy(shipped.model, PARAGRAPH)


def test_assignment_prompt_prediction_is_the_models(shipped_client: ASGIClient, shipped: Artifact) -> None:
    body = shipped_client.post("/predict-next", json={"text": "harles dar", "top_k": 27}).json()
    probabilities = served_probabilities(shipped.model, encode("harles dar")[None, :])[0]
    assert [entry["probability"] for entry in body["top"]] == sorted(probabilities.tolist(), reverse=True)
    assert body["next_char"] == " abcdefghijklmnopqrstuvwxyz"[int(np.argmax(probabilities))]
