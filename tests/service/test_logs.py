"""RepeatLimit: a repeated warning is logged once per period, then with the count it dropped."""

from __future__ import annotations

import logging

from service.logs import RepeatLimit


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def record(message: str, level: int = logging.ERROR, name: str = "asyncio") -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, message, (), None)


def test_repeats_are_dropped_then_counted() -> None:
    clock = Clock()
    limit = RepeatLimit(period=10.0, clock=clock)
    assert limit.filter(record("socket.accept() out of system resource"))
    kept = [limit.filter(record("socket.accept() out of system resource")) for _ in range(500)]
    assert kept == [False] * 500
    assert limit.filter(record("another message"))
    clock.now += 10.0
    next_one = record("socket.accept() out of system resource")
    assert limit.filter(next_one)
    assert next_one.getMessage() == (
        "socket.accept() out of system resource [500 repeats in the last 10 s not logged]"
    )


def test_info_records_are_never_dropped() -> None:
    limit = RepeatLimit(period=10.0, clock=Clock())
    assert [limit.filter(record("GET /health 200", logging.INFO)) for _ in range(3)] == [True] * 3


def test_the_memory_of_messages_is_bounded() -> None:
    limit = RepeatLimit(period=10.0, clock=Clock())
    for index in range(1500):
        assert limit.filter(record(f"distinct {index}"))
    assert len(limit._seen) <= 1000
