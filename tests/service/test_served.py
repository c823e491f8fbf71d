"""The ServedModel: its bounds (the simplified length, the chunks of long work, the model's name)
and its answers on the event loop (the cache, its batcher, its admission queue)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import anyio
import pytest
from anyio import CapacityLimiter

from model.accuracy import EVAL_BATCH, evaluate, text_positions
from model.alphabet import encode, simplify
from model.artifact import Artifact, ArtifactError
from model.errors import ArgumentError
from service.admission import Refused
from service.registry import ModelRegistry
from service.served import INLINE_TEXT_CHARS, WINDOWS_CHUNK, ServedModel, Shared, own_refusals
from service.streaming import ThreadEventStream


def test_a_text_that_lowercases_longer_than_the_limit_is_refused(artifact: Artifact) -> None:
    served = ServedModel(artifact, max_text_chars=50)
    assert len(simplify("İ" * 25)) == 50  # "İ" lowercases to "i" and a combining dot
    assert served.accuracy("İ" * 25).total == 49  # every position after the first letter
    with pytest.raises(ArgumentError) as raised:
        served.accuracy("İ" * 26)
    error = raised.value
    assert (error.path, error.kind) == (("text",), "string_too_long")
    assert error.message == "Text simplifies to 52 characters, more than 50 (MAX_TEXT_CHARS)"


def test_accuracy_reports_each_pass_and_agrees_with_the_model(artifact: Artifact) -> None:
    served = ServedModel(artifact, max_text_chars=100_000)
    text = "the origin of species " * 500  # 11,000 characters
    done: list[int] = []
    result = served.accuracy(text, done.append)
    # Positions 10..10999 read full windows: five passes of EVAL_BATCH and one of the other
    # 750; then positions 1..9, each with its own shorter window.
    assert artifact.context == 10 and EVAL_BATCH == 2048
    assert done == [2048, 4096, 6144, 8192, 10240, 10990, *range(10991, 11000)]
    indices = encode(simplify(text))
    positions = text_positions(indices)
    assert positions is not None
    assert result == evaluate(artifact.model, indices, positions)


class Stop(Exception):
    pass


def stop_after_first(done: int) -> None:
    if done > 0:
        raise Stop


def test_a_raising_on_chunk_stops_the_accuracy(artifact: Artifact) -> None:
    served = ServedModel(artifact, max_text_chars=100_000)
    with pytest.raises(Stop):
        served.accuracy("the origin of species " * 500, stop_after_first)


def test_windows_report_each_chunk_of_texts(artifact: Artifact) -> None:
    served = ServedModel(artifact, max_text_chars=100)
    done: list[int] = []
    assert served.windows(["harles dar"] * 250, done.append) == ["harles dar"] * 250
    assert done == [0, WINDOWS_CHUNK, 2 * WINDOWS_CHUNK]


def test_an_unsafe_model_name_is_refused(artifact: Artifact) -> None:
    named = dataclasses.replace(artifact, manifest={**artifact.manifest, "name": "x\n\x1b[2J"})
    with pytest.raises(ArtifactError) as raised:
        ModelRegistry([ServedModel(named, max_text_chars=100)])
    manifest = Path(artifact.path) / "manifest.json"
    assert str(raised.value) == (
        f"{manifest}: field name: name 'x\\n\\x1b[2J' is not 1 to 64 of A-Za-z0-9._- starting with a "
        "letter or digit"
    )


async def stays_connected() -> dict[str, Any]:
    await anyio.sleep_forever()
    raise AssertionError("unreachable")


def shared(passes: list[int], draining: bool = False) -> Shared:
    return Shared(1, 0, 5.0, CapacityLimiter(1), own_refusals(), passes.append, lambda: draining)


def test_rank_answers_a_new_window_in_a_batcher_pass_and_a_known_one_from_the_cache(
    artifact: Artifact,
) -> None:
    passes: list[int] = []
    served = ServedModel(artifact, max_text_chars=100, shared=shared(passes))

    async def main() -> list[Any]:
        return [await served.rank("harles dar"), await served.rank("harles dar")]

    first, again = anyio.run(main)
    assert first == again == ServedModel(artifact, max_text_chars=100).computed_ranking("harles dar")
    assert passes == [1]  # one forward pass, of one window
    assert served.cache.stats() == (1, 1, 1)  # hits, misses, entries


def test_predict_next_windows_a_short_and_a_long_text_alike(artifact: Artifact) -> None:
    served = ServedModel(artifact, max_text_chars=100_000)
    long_text = "x" * INLINE_TEXT_CHARS + " harles dar"  # windowed in the thread pool

    async def main() -> list[Any]:
        return [await served.predict_next(text, stays_connected) for text in ("Harles dar", long_text)]

    short, long = anyio.run(main)
    assert short == long == ("harles dar", served.ranking("harles dar"))


def test_predict_next_refuses_adapt_on_a_model_that_reads_windows(artifact: Artifact) -> None:
    served = ServedModel(artifact, max_text_chars=100)
    with pytest.raises(ArgumentError) as raised:
        anyio.run(served.predict_next, "harles dar", stays_connected, True)
    assert raised.value.path == ("adapt",)
    assert served.cache.stats() == (0, 0, 0)  # neither the cache nor the batcher was asked


def test_admit_computes_in_the_models_queue_and_counts_its_refusals_by_name(artifact: Artifact) -> None:
    given = shared([])
    served = ServedModel(artifact, max_text_chars=100, shared=given)

    async def main() -> None:
        assert await served.admit(stays_connected, lambda x, check: (check(0), x * 2)[1], 21) == 42
        stream = await served.stream(stays_connected, lambda check: iter([b"data: 1\n\n"]))
        assert isinstance(stream, ThreadEventStream)
        # The stream holds the one turn until its work has run, and nobody may wait (waiting 0).
        with pytest.raises(Refused) as refused:
            await served.admit(stays_connected, lambda check: None)
        assert (refused.value.status, refused.value.reason) == (429, "queue_full")
        assert given.refusals.labels("test-rnn-16", "queue_full")._value.get() == 1

    anyio.run(main)


def test_nothing_is_admitted_once_the_server_drains(artifact: Artifact) -> None:
    given = shared([], draining=True)
    served = ServedModel(artifact, max_text_chars=100, shared=given)
    for enter in (
        lambda: served.admit(stays_connected, lambda check: None),
        lambda: served.stream(stays_connected, lambda check: iter([])),
    ):
        with pytest.raises(Refused) as refused:
            anyio.run(enter)
        assert (refused.value.status, refused.value.reason) == (503, "draining")
    assert given.refusals.labels("test-rnn-16", "draining")._value.get() == 2
