"""What the HTTP request metrics cost per request: service.metrics.RequestMetrics against
prometheus-fastapi-instrumentator, on one FastAPI app with as many routes as the service.

Requests go straight into the ASGI app (no socket, no server), so the figure is the
middleware's own work: microseconds per GET of a one-line JSON route, best of several rounds,
minus the same app without metrics.

python -m bench.http_metrics [--requests N]   (needs: pip install prometheus-fastapi-instrumentator)
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from service.metrics import Metrics, RequestMetrics

ROUTES = 30  # about as many as the service's (GET /openapi.json lists them)
ROUNDS = 5


def plain_app() -> FastAPI:
    app = FastAPI()
    for index in range(ROUTES):

        @app.get(f"/route-{index}/{{name}}")
        async def other(name: str) -> dict[str, str]:
            return {"name": name}

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return app


def ours() -> FastAPI:
    app = plain_app()
    app.add_middleware(RequestMetrics, metrics=Metrics())
    return app


def instrumentator() -> FastAPI:
    from prometheus_fastapi_instrumentator import Instrumentator

    app = plain_app()
    Instrumentator(registry=CollectorRegistry()).instrument(app)
    return app


VARIANTS: dict[str, Callable[[], FastAPI]] = {
    "no metrics": plain_app,
    "service.metrics.RequestMetrics": ours,
    "prometheus-fastapi-instrumentator": instrumentator,
}


async def best_microseconds(app: Any, requests: int) -> float:
    """The fastest round's time per GET /health, in microseconds."""
    scope = {"type": "http", "method": "GET", "path": "/health", "raw_path": b"/health", "headers": [],
             "query_string": b"", "http_version": "1.1", "scheme": "http", "server": ("b", 80),
             "client": ("127.0.0.1", 1), "root_path": ""}  # fmt: skip

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        pass

    for _ in range(200):  # warm-up, and the middleware stack built
        await app(dict(scope), receive, send)
    best = float("inf")
    for _ in range(ROUNDS):
        started = time.perf_counter()
        for _ in range(requests):
            await app(dict(scope), receive, send)
        best = min(best, (time.perf_counter() - started) / requests * 1e6)
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.http_metrics", description=__doc__)
    parser.add_argument("--requests", type=int, default=5000, help="requests per round")
    args = parser.parse_args(argv)
    times = {name: asyncio.run(best_microseconds(make(), args.requests)) for name, make in VARIANTS.items()}
    base = times["no metrics"]
    for name, micros in times.items():
        extra = "" if name == "no metrics" else f", metrics add {micros - base:.1f} us"
        print(f"{name:36s} {micros:6.1f} us per request{extra}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
