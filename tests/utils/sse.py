"""Server-Sent Events as the service writes them: `data: <JSON or [DONE]>` and a blank line each."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any


def sse_data(text: str) -> list[str]:
    """The data of each event, in order; every event is exactly one `data:` line."""
    assert text.endswith("\n\n"), text[-100:]
    events = text[:-2].split("\n\n")
    assert all(event.startswith("data: ") and "\n" not in event for event in events), events
    return [event.removeprefix("data: ") for event in events]


def sse_json(text: str) -> list[Any]:
    return [json.loads(data) for data in sse_data(text) if data != "[DONE]"]


def streamed_generation(events: Iterable[Any]) -> dict[str, Any]:
    """A /generate stream's events folded into the whole answer's shape."""
    events = list(events)
    *pieces, last = events
    answer: dict[str, Any] = {
        "window": last["window"],
        "continuation": "".join(piece["text"] for piece in pieces),
        "finish_reason": last["finish_reason"],
    }
    if any("logprobs" in piece for piece in pieces):
        answer["logprobs"] = [item for piece in pieces for item in piece["logprobs"]]
    assert last["generated_chars"] == len(answer["continuation"])
    return answer
