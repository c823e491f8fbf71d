"""A model that reads whole texts, served: the prefix-state cache gives the same bits as a text
read from its start, a typed character costs one step, the cache is bounded, and POST /accuracy
counts exactly what /predict-next answers for each prefix."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from model.alphabet import ALPHABET
from service import states
from service.app import create_app
from service.served import ServedModel, load_served
from tests.utils.artifacts import SAMPLE_TEXT, build_stream_artifact
from tests.utils.client import ASGIClient, ExplicitSettings

TEXT = SAMPLE_TEXT[:700]


@pytest.fixture(scope="module")
def stream_artifact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_stream_artifact(tmp_path_factory.mktemp("stream") / "test-stream")


@pytest.fixture
def make_served(stream_artifact: Path) -> Callable[[int], ServedModel]:
    return lambda cache_size: load_served(stream_artifact, 100_000, cache_size)


def test_a_cached_prefix_continued_is_the_text_read_from_its_start(
    make_served: Callable[[int], ServedModel],
) -> None:
    fresh, cached = make_served(0), make_served(4096)
    for length in (1, 2, 300, 301, 513, 700):
        cached.probabilities([TEXT[: length - 1]]) if length > 1 else None
        assert np.array_equal(cached.probabilities([TEXT[:length]]), fresh.probabilities([TEXT[:length]])), (
            length
        )
    assert cached.states is not None and cached.states.hits >= 4


def test_a_typed_character_costs_one_step(make_served: Callable[[int], ServedModel]) -> None:
    served = make_served(4096)
    assert served.states is not None
    served.probabilities([TEXT[:600]])
    assert served.states.steps == 600
    for extra in range(1, 6):
        served.probabilities([TEXT[: 600 + extra]])
        assert served.states.steps == 600 + extra


def test_a_long_text_starts_from_the_last_checkpoint_it_shares(
    make_served: Callable[[int], ServedModel],
) -> None:
    served = make_served(4096)
    assert served.states is not None
    served.probabilities([TEXT[:600]])  # leaves states at 256 and 512
    served.probabilities([TEXT[:530] + "zzzz"])
    assert served.states.steps == 600 + (534 - 512)


def test_the_cache_holds_at_most_its_size(make_served: Callable[[int], ServedModel]) -> None:
    served = make_served(3)
    assert served.states is not None
    for length in range(10, 20):
        served.probabilities([TEXT[:length]])
    assert len(served.states) == 3
    assert served.states.size * served.states._entries[next(iter(served.states._entries))].nbytes < 10_000


def test_a_batch_answers_each_text_as_alone(make_served: Callable[[int], ServedModel]) -> None:
    texts = [TEXT[:n] for n in (5, 70, 300, 12)] + ["zebra quagga", TEXT[100:400]]
    together = make_served(4096).probabilities(texts)
    for row, text in enumerate(texts):
        assert np.array_equal(together[row], make_served(0).probabilities([text])[0]), text


def test_the_accuracy_of_a_text_counts_what_predict_next_answers_for_each_prefix(
    make_served: Callable[[int], ServedModel],
) -> None:
    served = make_served(4096)
    text = TEXT[:250]
    measured = served.accuracy(text)
    hits, bits = 0, 0.0
    for p in range(1, len(text)):
        probabilities = served.probabilities([text[:p]])[0]
        hits += ALPHABET[int(np.argmax(probabilities))] == text[p]
        bits -= float(np.log2(probabilities[ALPHABET.index(text[p])]))
    assert (measured.correct, measured.total) == (hits, len(text) - 1)
    assert measured.bits == pytest.approx(bits, rel=1e-6)


def test_prefix_digests_are_the_digests_of_each_prefix() -> None:
    import hashlib

    found = states.prefix_digests("abcdefgh", [1, 3, 8])
    assert found == {k: hashlib.blake2b(b"abcdefgh"[:k], digest_size=16).digest() for k in (1, 3, 8)}


@pytest.fixture(scope="module")
def stream_client(stream_artifact: Path) -> Iterator[ASGIClient]:
    client = ASGIClient(create_app(ExplicitSettings(CHAR_RNN_ARTIFACT=stream_artifact)))
    yield client
    client.close()


def test_predict_next_reads_the_whole_text(stream_client: ASGIClient) -> None:
    response = stream_client.post(
        "/predict-next", json={"text": "On the Origin of Species, by means", "top_k": 2}
    )
    assert response.status_code == 200
    assert response.json()["window"] == "on the origin of species by means"


def test_accuracy_answers_bits_per_char_and_adapts_on_request(stream_client: ASGIClient) -> None:
    static = stream_client.post("/accuracy", json={"text": TEXT[:300]}).json()
    adaptive = stream_client.post("/accuracy", json={"text": TEXT[:300], "adapt": True}).json()
    assert static["total"] == adaptive["total"] == 299
    assert 0 < static["bits_per_char"] and 0 < adaptive["bits_per_char"]
    assert adaptive["bits_per_char"] != static["bits_per_char"]
    again = stream_client.post("/accuracy", json={"text": TEXT[:300], "adapt": True}).json()
    assert again == adaptive  # the adapted weights belonged to the first request alone


def test_predict_next_adapts_on_request(stream_client: ASGIClient) -> None:
    body = {"text": TEXT[:200], "top_k": 27}
    static = stream_client.post("/predict-next", json=body).json()
    adaptive = stream_client.post("/predict-next", json=body | {"adapt": True}).json()
    assert static["window"] == adaptive["window"]
    assert static["top"] != adaptive["top"]
    assert stream_client.post("/predict-next", json=body).json() == static


def test_a_window_model_refuses_to_adapt(client: ASGIClient) -> None:
    response = client.post("/accuracy", json={"text": "natural selection", "adapt": True})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "adapt"]
    assert "only a model that reads whole texts adapts" in response.json()["detail"][0]["msg"]


def test_generate_adapts_on_request_and_its_first_character_is_predict_nexts(
    stream_client: ASGIClient,
) -> None:
    text = TEXT[:300]
    adaptive = stream_client.post("/generate", json={"text": text, "n": 20, "adapt": True}).json()
    first = stream_client.post("/predict-next", json={"text": text, "top_k": 1, "adapt": True}).json()
    assert adaptive["continuation"][0] == first["next_char"]
    static = stream_client.post("/generate", json={"text": text, "n": 20}).json()
    assert (
        static["continuation"][0]
        == stream_client.post("/predict-next", json={"text": text}).json()["next_char"]
    )
    assert len(adaptive["continuation"]) == len(static["continuation"]) == 20


def test_a_window_model_refuses_to_generate_adaptively(client: ASGIClient) -> None:
    response = client.post("/generate", json={"text": "natural selection", "adapt": True})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "adapt"]
