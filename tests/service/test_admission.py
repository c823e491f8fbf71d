"""service.admission on its own: turns, the queue's bound, the deadline, draining, leaving."""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from anyio import CapacityLimiter
from prometheus_client import CollectorRegistry, Counter

from service.admission import Admission, Refused
from service.cancellation import Cancelled


def admission(draining: bool = False, **bounds: Any) -> tuple[Admission, Counter]:
    refusals = Counter("refused", "refusals", ["model", "reason"], registry=CollectorRegistry())
    settings = {"running": 1, "waiting": 1, "deadline": 5.0, **bounds}
    threads = CapacityLimiter(settings["running"])
    return Admission("m", threads=threads, refusals=refusals, draining=lambda: draining, **settings), refusals


def count(refusals: Counter, reason: str) -> float:
    return refusals.labels("m", reason)._value.get()


async def stays_connected() -> dict[str, Any]:
    await anyio.sleep_forever()
    raise AssertionError("unreachable")


async def disconnects_after(seconds: float) -> dict[str, Any]:
    await anyio.sleep(seconds)
    return {"type": "http.disconnect"}


def test_a_full_queue_refuses_at_once_and_a_turn_comes_back_when_released() -> None:
    async def main() -> None:
        gate, refusals = admission()
        first = await gate.enter(stays_connected)
        order: list[str] = []

        async def second() -> None:
            ticket = await gate.enter(stays_connected)
            order.append("second admitted")
            ticket.release()

        async with anyio.create_task_group() as group:
            group.start_soon(second)
            await anyio.sleep(0.05)  # the second waits in the queue
            with pytest.raises(Refused) as refused:
                await gate.enter(stays_connected)
            assert (refused.value.status, refused.value.reason, refused.value.retry_after) == (
                429,
                "queue_full",
                1,
            )
            assert refused.value.message == (
                "Model 'm' is busy: 1 requests running and 1 waiting "
                "(MAX_CONCURRENT_EVALUATIONS, MAX_QUEUED_EVALUATIONS)"
            )
            order.append("first released")
            first.release()
            first.release()  # idempotent
        assert order == ["first released", "second admitted"]
        assert count(refusals, "queue_full") == 1

    anyio.run(main)


def test_a_wait_past_the_deadline_is_refused_with_503() -> None:
    async def main() -> None:
        gate, refusals = admission(deadline=0.1)
        await gate.enter(stays_connected)
        with pytest.raises(Refused) as refused:
            await gate.enter(stays_connected)
        assert (refused.value.status, refused.value.reason) == (503, "deadline")
        assert refused.value.message == "Waited 0.1 s for model 'm' without a turn (QUEUE_TIMEOUT_SECONDS)"
        assert count(refusals, "deadline") == 1

    anyio.run(main)


def test_nothing_is_admitted_while_draining() -> None:
    async def main() -> None:
        gate, refusals = admission(draining=True)
        with pytest.raises(Refused) as refused:
            await gate.enter(stays_connected)
        assert (refused.value.status, refused.value.reason) == (503, "draining")
        assert count(refusals, "draining") == 1

    anyio.run(main)


def test_a_client_that_leaves_the_queue_gives_its_place_up() -> None:
    async def main() -> None:
        gate, _ = admission()
        first = await gate.enter(stays_connected)
        with pytest.raises(Cancelled):
            await gate.enter(lambda: disconnects_after(0.05))
        # Its place is free: another waits, and gets the turn the first gives back.
        async with anyio.create_task_group() as group:

            async def third() -> None:
                (await gate.enter(stays_connected)).release()

            group.start_soon(third)
            await anyio.sleep(0.05)
            first.release()

    anyio.run(main)


def test_run_computes_in_the_admissions_pool_and_frees_the_turn() -> None:
    async def main() -> None:
        gate, _ = admission()
        result = await gate.run(stays_connected, lambda x, check: (check(0), x * 2)[1], 21)
        assert result == 42
        assert gate.threads.borrowed_tokens == 0
        assert (await gate.enter(stays_connected)).held

    anyio.run(main)
