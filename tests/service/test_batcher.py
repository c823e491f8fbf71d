"""The dynamic batcher: passes shared by concurrent callers, errors to every caller of a pass."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from service.batcher import DynamicBatcher
from service.served import Ranking


def echo(windows: Sequence[str]) -> list[Ranking]:
    return [Ranking(window, (float(len(window)),)) for window in windows]


def test_concurrent_callers_share_passes_and_get_their_own_answers() -> None:
    sizes: list[int] = []
    batcher = DynamicBatcher(echo, sizes.append, max_windows=4, max_in_flight=1)

    async def main() -> list[Ranking]:
        return await asyncio.gather(*(batcher.rank(f"w{i}") for i in range(10)))

    rankings = asyncio.run(main())
    assert [ranking.chars for ranking in rankings] == [f"w{i}" for i in range(10)]
    assert sizes == [4, 4, 2]  # one pass at a time, at most 4 windows each


def test_a_failing_pass_fails_each_of_its_callers() -> None:
    def broken(windows: Sequence[str]) -> list[Ranking]:
        raise RuntimeError("no model")

    batcher = DynamicBatcher(broken)

    async def main() -> list[object]:
        return list(await asyncio.gather(batcher.rank("a"), batcher.rank("b"), return_exceptions=True))

    assert [str(error) for error in asyncio.run(main())] == ["no model", "no model"]


def test_a_cancelled_caller_does_not_disturb_the_others() -> None:
    batcher = DynamicBatcher(echo, max_in_flight=1)

    async def main() -> str:
        gone = asyncio.ensure_future(batcher.rank("gone"))
        kept = asyncio.ensure_future(batcher.rank("kept"))
        await asyncio.sleep(0)
        gone.cancel()
        with pytest.raises(asyncio.CancelledError):
            await gone
        return (await kept).chars

    assert asyncio.run(main()) == "kept"
