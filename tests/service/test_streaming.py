"""service.streaming's event stream driven by hand: events in order, a failing producer, the turn
given back."""

from __future__ import annotations

from collections.abc import Callable, Iterator, MutableMapping
from typing import Any

import anyio
import pytest
from anyio import CapacityLimiter

from service.admission import Ticket
from service.streaming import ThreadEventStream, sse

SCOPE = {
    "type": "http",
    "asgi": {"spec_version": "2.4"},
    "method": "POST",
    "path": "/generate",
    "headers": [],
}


async def never_disconnects() -> dict[str, Any]:
    await anyio.sleep_forever()
    raise AssertionError("unreachable")


def run_stream(
    produce: Callable[[Callable[[int], None]], Iterator[bytes]],
) -> tuple[list[bytes], CapacityLimiter]:
    """The body chunks the stream sent, and its turn's limiter, once the stream has ended."""
    sent: list[bytes] = []
    turns = CapacityLimiter(1)

    async def send(message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.body":
            sent.append(message["body"])

    async def main() -> None:
        ticket = Ticket(turns)
        ticket.acquire_nowait()
        try:
            await ThreadEventStream(produce, ticket, CapacityLimiter(1))(SCOPE, never_disconnects, send)
        finally:
            with anyio.fail_after(5):  # the turn comes back once the producer's thread has ended
                while turns.borrowed_tokens:
                    await anyio.sleep(0.01)

    anyio.run(main)
    return sent, turns


def test_events_are_sent_in_order_and_the_turn_is_given_back() -> None:
    def produce(check: Callable[[int], None]) -> Iterator[bytes]:
        for index in range(3):
            check(index)
            yield sse({"n": index})
        yield sse("[DONE]")

    sent, turns = run_stream(produce)
    assert b"".join(sent) == b'data: {"n":0}\n\ndata: {"n":1}\n\ndata: {"n":2}\n\ndata: [DONE]\n\n'
    assert turns.borrowed_tokens == 0


def test_a_failing_producer_ends_the_stream_with_its_error() -> None:
    def produce(check: Callable[[int], None]) -> Iterator[bytes]:
        yield sse({"n": 0})
        raise RuntimeError("a bug")

    with pytest.raises(RuntimeError, match="a bug"):
        run_stream(produce)
