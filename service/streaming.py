"""Server-Sent Events produced by work in a worker thread, stopped when the client leaves.

The work is an iterator run in one worker thread of the expensive pool; each item it yields
is handed to the event loop (call_soon_threadsafe: a few microseconds, not a thread hop per
item) and written as it comes, items that arrived together in one write. When the client
disconnects, Starlette stops the response, the cancellation flag is set, and the work's next
`check` raises: it stops within one step. The admission ticket is given back when the thread
has ended, not before, so an abandoned stream never computes beyond its model's bound.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from anyio import CapacityLimiter, to_thread
from fastapi.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from service.admission import Ticket
from service.cancellation import Cancellation, Cancelled

Produce = Callable[[Callable[[int], None]], Iterator[bytes]]
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
_END = object()
# One event as OpenAPI 3.2 (and schemathesis) describes an event stream's items: its data is JSON.
SSE_EVENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["data"],
    "properties": {"data": {"type": "string", "contentMediaType": "application/json"}},
}


def sse_response_docs(description: str) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI `responses` entry of a route that may answer an event stream."""
    return {200: {"content": {"text/event-stream": {"schema": SSE_EVENT_SCHEMA}}, "description": description}}


def sse(data: dict[str, Any] | str) -> bytes:
    """One Server-Sent Event: `data: <compact JSON, or the string as it is>` and a blank line."""
    text = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    return f"data: {text}\n\n".encode()


class ThreadEventStream(StreamingResponse):
    """text/event-stream of what `produce(check)` yields, computed under an admission ticket."""

    def __init__(self, produce: Produce, ticket: Ticket, limiter: CapacityLimiter) -> None:
        self._produce = produce
        self._ticket = ticket
        self._limiter = limiter
        self._started = False
        self._threads: set[asyncio.Task[None]] = set()
        super().__init__(self._events(), media_type="text/event-stream", headers=SSE_HEADERS)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            if not self._started:  # stopped before the work began: nothing else gives the turn back
                self._ticket.release()

    async def _events(self) -> AsyncIterator[bytes]:
        self._started = True
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[object] = asyncio.Queue()
        cancellation = Cancellation()

        def put(item: object) -> None:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, item)
            except RuntimeError:  # the loop has closed (shutdown): nobody is left to read
                cancellation.cancel()

        def work() -> None:
            try:
                for chunk in self._produce(cancellation.check):
                    put(chunk)
            except Cancelled:
                pass
            except Exception as error:  # the loop re-raises it; the headers are already sent
                put(error)
            finally:
                put(_END)

        task = loop.create_task(to_thread.run_sync(work, limiter=self._limiter))
        self._threads.add(task)  # a reference, so the task is not collected while it runs
        task.add_done_callback(self._thread_ended)
        try:
            while True:
                items = [await queue.get()]
                while not queue.empty():
                    items.append(queue.get_nowait())
                chunks = [item for item in items if isinstance(item, bytes)]
                if chunks:
                    yield b"".join(chunks)
                for item in items:
                    if isinstance(item, Exception):
                        raise item
                if items[-1] is _END:
                    return
        finally:
            cancellation.cancel()

    def _thread_ended(self, task: asyncio.Task[None]) -> None:
        self._threads.discard(task)
        self._ticket.release()
