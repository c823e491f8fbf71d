"""Exact answers on a real server: a window's probabilities are the same bits alone, in the
dynamic batcher among concurrent requests, in /predict-next/batch and through tritonclient."""

from __future__ import annotations

import random
import string
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
import pytest
import tritonclient.http as triton
from numpy.typing import NDArray

from model.alphabet import ALPHABET
from model.artifact import DEFAULT_ARTIFACT, load
from tests.utils.server import ServerProcess, running_server

TEXTS = 2000
MODEL = load(DEFAULT_ARTIFACT).name  # the assignment's RNN, named in every request
Rows = NDArray[np.float32]


@pytest.fixture(scope="module")
def uncached_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """The shipped float32 model with the ranking cache off, so every request runs the model."""
    log = tmp_path_factory.mktemp("exact") / "server.log"
    with running_server(None, log, timeout=60, PREDICT_CACHE_SIZE="0") as server:
        yield server


def texts() -> list[str]:
    rng = random.Random(5)
    return [
        "".join(rng.choices(string.ascii_lowercase + " ", k=rng.randint(10, 16))) + "x" for _ in range(TEXTS)
    ]


def predict_row(http: httpx.Client, text: str) -> Rows:
    top = http.post("/predict-next", json={"text": text, "top_k": 27, "model": MODEL}).json()["top"]
    row = np.zeros(27, np.float32)
    row[[ALPHABET.index(entry["char"]) for entry in top]] = [entry["probability"] for entry in top]
    return row


def batch_rows(http: httpx.Client, chunk: list[str]) -> Rows:
    body = {"texts": chunk, "top_k": 27, "model": MODEL}
    predictions = http.post("/predict-next/batch", json=body).json()["predictions"]
    rows = np.zeros((len(chunk), 27), np.float32)
    for row, prediction in zip(rows, predictions, strict=True):
        row[[ALPHABET.index(entry["char"]) for entry in prediction["top"]]] = [
            entry["probability"] for entry in prediction["top"]
        ]
    return rows


def random_chunks(count: int, rng: random.Random) -> Iterator[list[int]]:
    order = list(range(count))
    rng.shuffle(order)
    start = 0
    while start < count:
        size = rng.randint(1, 200)
        yield order[start : start + size]
        start += size


@pytest.mark.slow
def test_every_path_gives_the_same_bits(uncached_server: ServerProcess) -> None:
    all_texts = texts()
    with httpx.Client(base_url=uncached_server.base_url, timeout=30) as http:
        alone = np.stack([predict_row(http, text) for text in all_texts])  # one request at a time
        passes_before = dynamic_passes(http)
        shuffled = list(range(TEXTS))
        random.Random(6).shuffle(shuffled)
        with ThreadPoolExecutor(16) as pool:  # 16 clients at once: the batcher mixes their windows
            concurrent = list(pool.map(lambda i: predict_row(http, all_texts[i]), shuffled))
        passes = dynamic_passes(http) - passes_before
        batched = np.zeros_like(alone)
        for chunk in random_chunks(TEXTS, random.Random(7)):
            batched[chunk] = batch_rows(http, [all_texts[i] for i in chunk])
    assert np.array_equal(np.stack(concurrent), alone[shuffled])
    assert passes < TEXTS  # some passes held several requests' windows
    assert np.array_equal(batched, alone)
    client = triton.InferenceServerClient(uncached_server.base_url.removeprefix("http://"))
    assert client.is_server_live() and client.is_server_ready() and client.is_model_ready(MODEL)
    for chunk in random_chunks(TEXTS, random.Random(8)):
        tensor = triton.InferInput("text", [len(chunk)], "BYTES")
        tensor.set_data_from_numpy(np.array([all_texts[i] for i in chunk], dtype=np.object_))
        result = client.infer(MODEL, [tensor])
        assert np.array_equal(result.as_numpy("probabilities"), alone[chunk])
        assert list(result.as_numpy("next_char")) == [ALPHABET[int(np.argmax(alone[i]))] for i in chunk]
    client.close()


def dynamic_passes(http: httpx.Client) -> float:
    """Forward passes of the dynamic batcher so far, over every model (this test names one)."""
    counts = [
        float(line.split()[-1])
        for line in http.get("/metrics").text.splitlines()
        if line.startswith("char_rnn_dynamic_batch_size_count")
    ]
    assert counts, "no char_rnn_dynamic_batch_size_count in /metrics"
    return sum(counts)


def test_tritonclient_metadata_and_errors(uncached_server: ServerProcess) -> None:
    client = triton.InferenceServerClient(uncached_server.base_url.removeprefix("http://"))
    metadata = client.get_model_metadata(MODEL)
    assert [(t["name"], t["datatype"], t["shape"]) for t in metadata["outputs"]] == [
        ("next_char", "BYTES", [-1]),
        ("probabilities", "FP32", [-1, 27]),
    ]
    assert client.get_server_metadata()["name"] == "char-rnn-service"
    with pytest.raises(triton.InferenceServerException, match="model 'nope' is not served here"):
        client.get_model_metadata("nope")
    client.close()
