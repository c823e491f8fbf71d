"""An async httpx load generator, run as its own process: the fallback where wrk is missing.

`connections` tasks share one client with that many keep-alive connections; each sends its
next request as soon as its last one is answered, until `seconds` have passed or
`max_requests` were sent. Prints one JSON line, the same fields as bench/wrk/scenario.lua.

python -m bench.loadgen --url URL [--method POST --body distinct] [--connections 16] [--seconds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import string
import time
from typing import Any

import httpx

LETTERS = string.ascii_lowercase


def random_text(rng: random.Random, length: int) -> str:
    return "".join(rng.choices(LETTERS, k=length))


def body_maker(kind: str, fixed_json: str, batch: int, rng: random.Random) -> Any:
    """A function returning the next request's JSON body (None for GET)."""
    if kind == "distinct":
        return lambda: {"text": random_text(rng, 16), "top_k": 5}
    if kind == "batch":
        bodies = [{"texts": [random_text(rng, 12) for _ in range(batch)], "top_k": 1} for _ in range(8)]
        return lambda: rng.choice(bodies)
    fixed = json.loads(fixed_json) if fixed_json else None
    return lambda: fixed


def percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(fraction * len(sorted_values)))]


async def run(args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(args.seed)
    next_body = body_maker(args.body, args.json, args.batch, rng)
    limits = httpx.Limits(max_connections=args.connections, max_keepalive_connections=args.connections)
    latencies: list[float] = []
    errors = status_errors = sent = 0
    deadline = time.perf_counter() + args.seconds

    async with httpx.AsyncClient(limits=limits, timeout=10.0) as client:

        async def one_connection() -> None:
            nonlocal errors, status_errors, sent
            while time.perf_counter() < deadline and sent < args.max_requests:
                sent += 1
                started = time.perf_counter()
                try:
                    response = await client.request(args.method, args.url, json=next_body())
                except httpx.HTTPError:
                    errors += 1
                    continue
                latencies.append(time.perf_counter() - started)
                if response.status_code != 200:
                    errors += 1
                    status_errors += 1

        started = time.perf_counter()
        await asyncio.gather(*(one_connection() for _ in range(args.connections)))
        seconds = time.perf_counter() - started
    latencies.sort()
    return {
        "requests": len(latencies),
        "seconds": seconds,
        "errors": errors,
        "status_errors": status_errors,
        **{f"p{p}_ms": 1000 * percentile(latencies, p / 100) for p in (50, 90, 99)},
        "max_ms": 1000 * latencies[-1] if latencies else float("nan"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.loadgen", description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--method", default="GET", choices=("GET", "POST"))
    parser.add_argument("--body", default="fixed", choices=("fixed", "distinct", "batch"))
    parser.add_argument("--json", default="", help="the body for --body fixed")
    parser.add_argument("--batch", type=int, default=1000, help="texts per request for --body batch")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--max-requests", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    print(json.dumps(asyncio.run(run(args))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
