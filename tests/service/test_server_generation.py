"""A real `python -m service`: streamed generation stops when its client leaves, the official
`openai` client works against /v1, and each model's admission queue refuses overload with 429
(503 past its deadline) while a small /predict-next stays fast."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from tests.utils.artifacts import build_artifact
from tests.utils.server import ServerProcess, running_server
from tests.utils.sse import sse_json, streamed_generation

pytestmark = pytest.mark.slow

# A model that re-reads a window of 300 characters for each one it generates: about 5 ms a
# character here, so n = 1000 is seconds of work, long enough to watch it stop.
SLOW_CONTEXT = 300
SLOW_TEXT = "natural selection acts only by the preservation of profitable variations " * 6
SLOW_MODEL = "test-slow"


@pytest.fixture(scope="module")
def slow_artifact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("slow") / "slow"
    return build_artifact(directory, n_hidden=64, context=SLOW_CONTEXT, steps=1, name=SLOW_MODEL)


@pytest.fixture
def slow_server(slow_artifact: Path, tmp_path: Path) -> Callable[..., Any]:
    """A server on the slow model; keyword arguments are settings (by environment name)."""

    def start(**settings: str) -> Any:
        return running_server(slow_artifact, tmp_path / "server.log", **settings)  # type: ignore[arg-type]

    return start


def metric(server: ServerProcess, name: str, **labels: str) -> float:
    """One sample of GET /metrics (0 when absent)."""
    text = httpx.get(f"{server.base_url}/metrics", timeout=10.0).text
    selector = ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()))
    found = re.search(rf"^{name}\{{{re.escape(selector)}\}} (\S+)$", text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def generated(server: ServerProcess) -> float:
    return metric(server, "char_rnn_generated_chars_total", model=SLOW_MODEL)


# One expensive request at a time and none waiting: a second one is admitted only once the
# first one's worker thread has ended, so being admitted proves that the first stopped.
ONE_AT_A_TIME = {"MAX_CONCURRENT_EVALUATIONS": "1", "MAX_QUEUED_EVALUATIONS": "0"}


def stopped_count(server: ServerProcess, timeout: float = 20.0) -> float:
    """The characters the slow model generated before its running generation stopped: polls with
    a one-character generation until it is admitted (200 rather than 429)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        probe = httpx.post(f"{server.base_url}/generate", json={"text": "abc", "n": 1}, timeout=30.0)
        if probe.status_code == 200:
            return generated(server) - 1  # the probe's own character
        assert probe.status_code == 429, probe.text
        time.sleep(0.1)
    raise AssertionError(
        f"the generation still held its turn after {timeout} s: {generated(server)} characters"
    )


def test_a_stream_that_its_client_leaves_stops_generating(slow_server: Callable[..., Any]) -> None:
    with slow_server(**ONE_AT_A_TIME) as server:
        body = {"text": SLOW_TEXT, "n": 1000, "stream": True}
        with httpx.stream("POST", f"{server.base_url}/generate", json=body, timeout=30.0) as response:
            assert response.status_code == 200
            assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
            lines = response.iter_lines()
            received = [line for line, _ in zip(lines, range(6), strict=False) if line.startswith("data: ")]
        assert len(received) == 3
        count = stopped_count(server)
        # It stopped well short of 1000 characters (about 5 s of work), and stays stopped.
        assert 3 <= count < 1000 - 100, count
        time.sleep(1.0)
        assert generated(server) == count + 1


def test_a_whole_generation_that_its_client_leaves_stops(slow_server: Callable[..., Any]) -> None:
    with slow_server(**ONE_AT_A_TIME) as server:
        with pytest.raises(httpx.ReadTimeout):
            httpx.post(f"{server.base_url}/generate", json={"text": SLOW_TEXT, "n": 1000}, timeout=1.0)
        count = stopped_count(server)
        assert count < 1000 - 100, count
        assert '"POST /generate" 499' in server.log()


def test_the_stream_over_a_socket_is_the_whole_answer(server: ServerProcess) -> None:
    body = {"text": "natural selec", "n": 80, "temperature": 0.9, "seed": 4, "logprobs": 3, "stop": ["qq"]}
    whole = httpx.post(f"{server.base_url}/generate", json=body, timeout=30.0).json()
    streamed = httpx.post(f"{server.base_url}/generate", json={**body, "stream": True}, timeout=30.0)
    assert streamed_generation(sse_json(streamed.text)) == whole


@pytest.fixture
def openai_client(server: ServerProcess) -> Iterator[openai.OpenAI]:
    client = openai.OpenAI(base_url=f"{server.base_url}/v1", api_key="unused", max_retries=0, timeout=30.0)
    yield client
    client.close()


def test_the_openai_client_completes_as_generate_answers(
    server: ServerProcess, openai_client: openai.OpenAI
) -> None:
    fields = {"temperature": 0.8, "seed": 11, "top_p": 0.95}
    expected = httpx.post(
        f"{server.base_url}/generate",
        json={"text": "harles dar", "n": 30, "logprobs": 2, **fields},
        timeout=30.0,
    ).json()
    [model] = [m.id for m in openai_client.models.list()]
    completion = openai_client.completions.create(
        model=model, prompt="harles dar", max_tokens=30, logprobs=2, temperature=0.8, seed=11, top_p=0.95
    )
    choice = completion.choices[0]
    assert (choice.text, choice.finish_reason) == (expected["continuation"], expected["finish_reason"])
    assert choice.logprobs is not None
    assert choice.logprobs.token_logprobs == [item["logprob"] for item in expected["logprobs"]]
    assert choice.logprobs.top_logprobs == [
        {alt["char"]: alt["logprob"] for alt in item["top"]} for item in expected["logprobs"]
    ]
    assert completion.usage is not None
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (10, 30)

    chunks = list(
        openai_client.completions.create(
            model=model, prompt="harles dar", max_tokens=30, stream=True, temperature=0.8, seed=11, top_p=0.95
        )
    )
    assert "".join(chunk.choices[0].text for chunk in chunks) == expected["continuation"]
    assert chunks[-1].choices[0].finish_reason == "length"


def test_the_openai_client_reads_the_errors(openai_client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as missing:
        openai_client.completions.create(model="gpt-4", prompt="harles dar")
    assert missing.value.code == "model_not_found"
    assert missing.value.param == "model"
    with pytest.raises(openai.BadRequestError) as invalid:
        openai_client.completions.create(model="test-rnn-16", prompt="harles dar", max_tokens=0)
    assert (invalid.value.param, invalid.value.code) == ("max_tokens", "greater_than_equal")
    # The client found the message where OpenAI puts it.
    assert invalid.value.message == "Error code: 400 - max_tokens: Input should be greater than or equal to 1"


def run_in_background(function: Callable[[], Any]) -> tuple[threading.Thread, dict[str, Any]]:
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["result"] = function()
        except httpx.HTTPError as failure:
            outcome["error"] = failure

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def test_a_full_queue_refuses_with_429_and_retry_after(slow_server: Callable[..., Any]) -> None:
    settings = {
        "MAX_CONCURRENT_EVALUATIONS": "1",
        "MAX_QUEUED_EVALUATIONS": "1",
        "QUEUE_TIMEOUT_SECONDS": "30",
    }
    with slow_server(**settings) as server:
        url = server.base_url
        slow = {"text": SLOW_TEXT, "n": 600}
        running, _ = run_in_background(lambda: httpx.post(f"{url}/generate", json=slow, timeout=60.0))
        wait_for(lambda: generated(server) > 0)
        queued, queued_outcome = run_in_background(
            lambda: httpx.post(f"{url}/accuracy", json={"text": SLOW_TEXT}, timeout=60.0)
        )
        time.sleep(0.5)  # the accuracy request waits in the queue
        refused = [
            httpx.post(f"{url}/generate", json={"text": "abc", "n": 1}, timeout=10.0),
            httpx.post(f"{url}/predict-next/batch", json={"texts": ["abc"]}, timeout=10.0),
            httpx.post(f"{url}/v1/completions", json={"prompt": "abc", "max_tokens": 1}, timeout=10.0),
        ]
        message = (
            "Model 'test-slow' is busy: 1 requests running and 1 waiting "
            "(MAX_CONCURRENT_EVALUATIONS, MAX_QUEUED_EVALUATIONS)"
        )
        assert [(r.status_code, r.headers["retry-after"]) for r in refused] == [(429, "1")] * 3
        assert [r.json().get("detail") for r in refused[:2]] == [message] * 2
        assert refused[2].json() == {
            "error": {"message": message, "type": "requests", "param": None, "code": "queue_full"}
        }
        assert metric(server, "char_rnn_refused_requests_total", model=SLOW_MODEL, reason="queue_full") == 3.0
        # A small prediction is not expensive work: it is answered at once.
        assert httpx.post(f"{url}/predict-next", json={"text": "abc"}, timeout=10.0).status_code == 200
        running.join(60)
        queued.join(60)
        assert queued_outcome["result"].status_code == 200


def test_a_request_that_waits_past_its_deadline_is_refused_with_503(slow_server: Callable[..., Any]) -> None:
    settings = {"MAX_CONCURRENT_EVALUATIONS": "1", "QUEUE_TIMEOUT_SECONDS": "0.5"}
    with slow_server(**settings) as server:
        url = server.base_url
        running, _ = run_in_background(
            lambda: httpx.post(f"{url}/generate", json={"text": SLOW_TEXT, "n": 600}, timeout=60.0)
        )
        wait_for(lambda: generated(server) > 0)
        started = time.monotonic()
        late = httpx.post(f"{url}/generate", json={"text": "abc", "n": 1}, timeout=10.0)
        waited = time.monotonic() - started
        assert (late.status_code, late.headers["retry-after"]) == (503, "1")
        assert (
            late.json()["detail"]
            == "Waited 0.5 s for model 'test-slow' without a turn (QUEUE_TIMEOUT_SECONDS)"
        )
        assert 0.5 <= waited < 5.0
        assert metric(server, "char_rnn_refused_requests_total", model=SLOW_MODEL, reason="deadline") == 1.0
        running.join(60)


def test_a_small_prediction_stays_fast_while_generations_are_queued(slow_server: Callable[..., Any]) -> None:
    # Issue 20, defect 3: 40 generations at once held /predict-next back for 70 s.
    settings = {"MAX_QUEUED_EVALUATIONS": "64", "QUEUE_TIMEOUT_SECONDS": "6"}
    with slow_server(**settings) as server:
        url = server.base_url
        body = {"text": SLOW_TEXT, "n": 1000}
        clients = [
            run_in_background(lambda: httpx.post(f"{url}/generate", json=body, timeout=30.0))
            for _ in range(40)
        ]
        wait_for(lambda: generated(server) > 0)
        time.sleep(0.5)
        latencies = []
        for index in range(10):
            started = time.monotonic()
            response = httpx.post(
                f"{url}/predict-next", json={"text": f"origin of spe{'abcdefghij'[index]}"}, timeout=30.0
            )
            latencies.append(time.monotonic() - started)
            assert response.status_code == 200
        assert max(latencies) < 1.0, latencies
        # Two compute at once; the others are refused once they have waited 6 s, not served late.
        wait_for(
            lambda: (
                metric(server, "char_rnn_refused_requests_total", model=SLOW_MODEL, reason="deadline") >= 30
            ),
            30.0,
        )
        refused = [outcome["result"] for _, outcome in clients if "result" in outcome]
        assert {response.status_code for response in refused} <= {200, 503}
