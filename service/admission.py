"""Admission of expensive work: per model, a bounded number running and a bounded queue.

Expensive requests (/generate, /predict-next/batch, POST /accuracy, /v1/completions; any route
may use it) enter their model's `Admission` before they compute. At most `running` compute at
once per model and at most `waiting` more wait for a turn; one more is refused at once (429),
one that waits longer than `deadline` seconds is refused then (503), and none is admitted while
the server drains (503). Each refusal is counted by model and reason, and says `Retry-After`.

Admitted work runs in worker threads of one dedicated pool (`threads`), never in the default
one that /predict-next's batcher and the body parser use, so a queue of generations cannot
hold a small prediction back. A client that leaves while queued leaves the queue.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, TypeVar

import anyio
from anyio import CapacityLimiter
from prometheus_client import Counter
from starlette.types import Receive

from service.cancellation import Cancelled, run_until_disconnect

T = TypeVar("T")
Reason = Literal["queue_full", "deadline", "draining"]
RETRY_AFTER_SECONDS = 1


class Refused(Exception):
    """Work not admitted: the status to answer, why, and when to try again."""

    def __init__(self, status: int, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.message = message
        self.retry_after = RETRY_AFTER_SECONDS


class Ticket:
    """One admitted request's turn; `release` (idempotent) gives it back."""

    def __init__(self, limiter: CapacityLimiter) -> None:
        self._limiter = limiter
        self._held = False

    async def acquire(self) -> None:
        await self._limiter.acquire_on_behalf_of(self)
        self._held = True

    def acquire_nowait(self) -> None:
        self._limiter.acquire_on_behalf_of_nowait(self)
        self._held = True

    @property
    def held(self) -> bool:
        return self._held

    def release(self) -> None:
        if self._held:
            self._held = False
            self._limiter.release_on_behalf_of(self)


class Admission:
    """One model's admission queue (see the module's docstring)."""

    def __init__(
        self,
        model: str,
        running: int,
        waiting: int,
        deadline: float,
        threads: CapacityLimiter,
        refusals: Counter,
        draining: Callable[[], bool] = lambda: False,
    ) -> None:
        self.model = model
        self.waiting = waiting
        self.deadline = deadline
        self.threads = threads
        self._running = CapacityLimiter(running)
        self._refusals = refusals
        self._draining = draining

    async def enter(self, receive: Receive) -> Ticket:
        """A turn to compute, once one is free; Refused, or Cancelled if the client leaves first."""
        if self._draining():
            raise self._refuse(503, "draining", "The server is shutting down; try another replica")
        ticket = Ticket(self._running)
        if self._running.available_tokens >= 1:
            ticket.acquire_nowait()
            return ticket
        if self._running.statistics().tasks_waiting >= self.waiting:
            raise self._refuse(
                429,
                "queue_full",
                f"Model {self.model!r} is busy: {int(self._running.total_tokens)} requests running and "
                f"{self.waiting} waiting (MAX_CONCURRENT_EVALUATIONS, MAX_QUEUED_EVALUATIONS)",
            )
        if not await self._wait(receive, ticket):
            ticket.release()
            raise Cancelled(0)
        if not ticket.held:
            raise self._refuse(
                503,
                "deadline",
                f"Waited {self.deadline:g} s for model {self.model!r} without a turn (QUEUE_TIMEOUT_SECONDS)",
            )
        return ticket

    async def _wait(self, receive: Receive, ticket: Ticket) -> bool:
        """Wait for the ticket for at most the deadline; False if the client left meanwhile."""
        client_left = False

        async def watch() -> None:
            nonlocal client_left
            while (await receive())["type"] != "http.disconnect":
                pass
            client_left = True
            group.cancel_scope.cancel()

        with anyio.move_on_after(self.deadline):
            async with anyio.create_task_group() as group:
                group.start_soon(watch)
                await ticket.acquire()
                group.cancel_scope.cancel()
        return not client_left

    async def run(self, receive: Receive, work: Callable[..., T], *args: Any) -> T:
        """`work(*args, check)` once admitted, in the expensive pool, stopped if the client leaves
        (service.cancellation)."""
        ticket = await self.enter(receive)
        try:
            return await run_until_disconnect(receive, work, *args, limiter=self.threads)
        finally:
            ticket.release()

    def _refuse(self, status: int, reason: Reason, message: str) -> Refused:
        self._refusals.labels(self.model, reason).inc()
        return Refused(status, reason, message)
