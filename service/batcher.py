"""Dynamic batching for /predict-next: concurrent requests share forward passes.

A request that misses the ranking cache hands its window to the batcher and awaits a future.
While fewer than `max_in_flight` passes run, the windows waiting are sent at once to a worker
thread as one pass (up to `max_windows`); otherwise they wait for a pass to finish, so the
batch grows with the load and a lone request waits for nothing. Answers stay exact because
ServedModel.probabilities is batch-invariant (model.batching): a window's ranking is the same
bits whichever requests share its pass. Each served model owns one batcher (service.served), so
a pass never mixes two models' windows.

All state belongs to the event loop that calls `rank`; no locks are needed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from anyio import to_thread

Answer = TypeVar("Answer")  # what a pass gives each window (service.served: its Ranking)


class DynamicBatcher(Generic[Answer]):
    """Gathers windows from concurrent callers into passes of `rank_many` in worker threads."""

    def __init__(
        self,
        rank_many: Callable[[Sequence[str]], list[Answer]],
        observe: Callable[[int], object] = lambda size: None,
        max_windows: int = 64,
        max_in_flight: int = 2,
    ) -> None:
        self.rank_many = rank_many
        self.observe = observe  # called with each pass's size
        self.max_windows = max_windows
        self.max_in_flight = max_in_flight
        self._waiting: list[tuple[str, asyncio.Future[Answer]]] = []
        self._in_flight: set[asyncio.Task[None]] = set()
        self._scheduled = False

    async def rank(self, window: str) -> Answer:
        """The window's ranking, computed in a pass shared with whoever else is waiting."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Answer] = loop.create_future()
        self._waiting.append((window, future))
        if not self._scheduled:
            # Dispatch on the next turn of the loop, so requests parsed in this one join it.
            self._scheduled = True
            loop.call_soon(self._dispatch)
        return await future

    def _dispatch(self) -> None:
        self._scheduled = False
        while self._waiting and len(self._in_flight) < self.max_in_flight:
            batch, self._waiting = self._waiting[: self.max_windows], self._waiting[self.max_windows :]
            task = asyncio.get_running_loop().create_task(self._run(batch))
            self._in_flight.add(task)
            task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        self._dispatch()

    async def _run(self, batch: list[tuple[str, asyncio.Future[Answer]]]) -> None:
        self.observe(len(batch))
        try:
            rankings = await to_thread.run_sync(self.rank_many, [window for window, _ in batch])
        except Exception as error:  # every caller of the pass gets the error, none hangs
            for _, future in batch:
                if not future.done():
                    future.set_exception(error)
            return
        for (_, future), ranking in zip(batch, rankings, strict=True):
            if not future.done():  # a caller that went away cancelled its future
                future.set_result(ranking)
