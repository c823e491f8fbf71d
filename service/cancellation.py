"""Work that stops when its client goes away.

A request's long work runs in a worker thread in chunks and calls `Cancellation.check`
between them; a watcher on the event loop sets the flag when the ASGI server reports
`http.disconnect`, so the next check raises Cancelled and the thread is free again.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

import anyio
from anyio import to_thread
from starlette.types import Receive

T = TypeVar("T")


class Cancelled(Exception):
    """The client disconnected before its work was done; nobody is left to answer."""

    def __init__(self, done: int) -> None:
        super().__init__(f"client disconnected; stopped after {done} units of work")
        self.done = done


class Cancellation:
    """A flag set from the event loop and read from the worker thread."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def check(self, done: int) -> None:
        """Between two chunks of work: raise Cancelled once the client has gone."""
        if self._event.is_set():
            raise Cancelled(done)


async def _watch(receive: Receive, cancellation: Cancellation) -> None:
    # The body has been read, so the next message the server sends is the disconnect.
    while (await receive())["type"] != "http.disconnect":
        pass
    cancellation.cancel()


async def run_until_disconnect(
    receive: Receive,
    work: Callable[..., T],
    *args: Any,
    limiter: anyio.CapacityLimiter | None = None,
) -> T:
    """`work(*args, cancellation.check)` in a worker thread; a disconnect of the client stops it.

    The work's own exceptions (Cancelled among them) propagate as they are, not grouped.
    """
    cancellation = Cancellation()
    failure: Exception | None = None
    async with anyio.create_task_group() as group:
        group.start_soon(_watch, receive, cancellation)
        try:
            result: T = await to_thread.run_sync(partial(work, *args), cancellation.check, limiter=limiter)
        except Exception as error:
            failure = error
        group.cancel_scope.cancel()
    if failure is not None:
        raise failure
    return result
