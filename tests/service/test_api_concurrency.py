"""Dozens of threads at once on the ASGI app get exactly the answers of one sequential client."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.utils.artifacts import SAMPLE_TEXT
from tests.utils.client import ASGIClient

THREADS = 48


def requests_for(index: int) -> list[tuple[str, dict[str, Any]]]:
    start = (index * 37) % (len(SAMPLE_TEXT) - 200)
    text = SAMPLE_TEXT[start : start + 5 + index % 40]
    text = text if text.strip() else "darwin"
    return [
        ("/predict-next", {"text": text, "top_k": 1 + index % 27}),
        ("/predict-next", {"text": text[: 1 + index % 9] + "z"}),
        ("/predict-next/batch", {"texts": [text, text[:3] + "q", "origin"], "top_k": 3}),
        ("/generate", {"text": text, "n": 25, "temperature": 0.5 + index / 100, "seed": index}),
        ("/accuracy", {"text": SAMPLE_TEXT[start : start + 150]}),
        ("/lstm/step", {"x": [index / 10, 1 - index / 50, 0.5], "h": [index / 100], "c": [-0.1]}),
    ]


@pytest.mark.parametrize("cache_size", [4096, 0])
def test_concurrent_answers_equal_sequential_ones(
    make_client: Callable[..., ASGIClient], cache_size: int
) -> None:
    client = make_client(PREDICT_CACHE_SIZE=cache_size, MAX_QUEUED_EVALUATIONS=THREADS)
    sequential = [
        [client.post(path, json=body).json() for path, body in requests_for(i)] for i in range(THREADS)
    ]
    if cache_size:
        # Fresh windows for the concurrent run too, so that misses race with each other.
        client = make_client(PREDICT_CACHE_SIZE=cache_size, MAX_QUEUED_EVALUATIONS=THREADS)
    start = threading.Barrier(THREADS, timeout=30.0)

    def run(index: int) -> list[Any]:
        start.wait()
        answers = []
        for path, body in requests_for(index):
            response = client.post(path, json=body)
            assert response.status_code == 200, (path, response.text)
            answers.append(response.json())
        return answers

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        concurrent = list(pool.map(run, range(THREADS), timeout=120))
    assert concurrent == sequential


@pytest.mark.parametrize("limit", [1, 2])
def test_accuracy_evaluations_run_at_most_the_configured_number_at_once(
    make_client: Callable[..., ASGIClient], limit: int
) -> None:
    client = make_client(MAX_CONCURRENT_EVALUATIONS=limit)
    served = client.app.state.models.default
    measure = served.accuracy
    active, most = 0, 0
    lock = threading.Lock()

    def watched(*args: Any, **kwargs: Any) -> Any:
        nonlocal active, most
        with lock:
            active += 1
            most = max(most, active)
        try:
            time.sleep(0.05)
            return measure(*args, **kwargs)
        finally:
            with lock:
                active -= 1

    served.accuracy = watched  # this client's own ServedModel instance
    body = {"text": SAMPLE_TEXT[:300]}
    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(lambda _: client.post("/accuracy", json=body), range(8), timeout=60))
    assert {response.status_code for response in responses} == {200}
    assert len({response.text for response in responses}) == 1
    assert most == limit
