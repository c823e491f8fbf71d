"""Prometheus metrics: requests per route and status; batch sizes, the cache and loading per model.

Each app has its own registry, so the app factory can build many apps in one process (tests)
without metrics colliding; GET /metrics exposes that registry.

The request metrics are written here rather than taken from prometheus-fastapi-instrumentator
because of what that costs per request: on a FastAPI app with the service's number of routes,
RequestMetrics adds about 20 us to a GET answered in process, the instrumentator 105-125 us
(it builds a Request and a Response for every request and matches the path against every
route again), measured by `python -m bench.http_metrics` (docs/performance.md). Both label by
route template; RequestMetrics also counts the 413s answered before routing.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from service.connections import REFUSALS
from service.errors import HTTP_METHODS
from service.middleware import watch_response
from service.served import RankingCache

KNOWN_METHODS = frozenset(HTTP_METHODS)
UNMATCHED = "unmatched"  # the route label of a path no route serves: raw paths would be unbounded
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1000, 5000)


class CacheCollector(Collector):
    """Each model's predict cache counts, read at scrape time: nothing added to the hot path."""

    def __init__(self, caches: Mapping[str, RankingCache]) -> None:
        self.caches = caches

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        hits = CounterMetricFamily(
            "char_rnn_predict_cache_hits", "/predict-next windows answered from the cache", labels=["model"]
        )
        misses = CounterMetricFamily(
            "char_rnn_predict_cache_misses",
            "/predict-next windows that needed a forward pass",
            labels=["model"],
        )
        entries = GaugeMetricFamily(
            "char_rnn_predict_cache_entries", "Windows held in the cache", labels=["model"]
        )
        for model, cache in self.caches.items():
            hit_count, miss_count, entry_count = cache.stats()
            hits.add_metric([model], hit_count)
            misses.add_metric([model], miss_count)
            entries.add_metric([model], entry_count)
        yield from (hits, misses, entries)


class ConnectionCollector(Collector):
    """Connections this process refused or closed before a request, by reason
    (service.connections): max_connections (503) and header_timeout."""

    def collect(self) -> Iterator[CounterMetricFamily]:
        refused = CounterMetricFamily(
            "char_rnn_connections_refused",
            "Connections answered 503 past MAX_CONNECTIONS, or closed for slow headers",
            labels=["reason"],
        )
        for reason in ("max_connections", "header_timeout"):
            refused.add_metric([reason], REFUSALS[reason])
        yield refused


class Metrics:
    """The registry and every metric the service updates."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "http_requests",
            "HTTP requests answered, by method, route template and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "http_request_duration_seconds",
            "Time from the request's arrival to the end of its response",
            ["method", "route", "status"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.batch_sizes = Histogram(
            "char_rnn_batch_size",
            "Texts per accepted /predict-next/batch request, by model",
            ["model"],
            buckets=BATCH_BUCKETS,
            registry=self.registry,
        )
        self.pass_sizes = Histogram(
            "char_rnn_dynamic_batch_size",
            "Windows per forward pass that the dynamic batcher ran for /predict-next",
            buckets=BATCH_BUCKETS,
            registry=self.registry,
        )
        self.model_loaded = Gauge(
            "char_rnn_model_loaded",
            "1 for each model loaded and warmed up, by name",
            ["model"],
            registry=self.registry,
        )
        self.refusals = Counter(
            "char_rnn_refused_requests",
            "Expensive requests refused by a model's admission queue, by model and reason "
            "(queue_full: 429; deadline, draining: 503)",
            ["model", "reason"],
            registry=self.registry,
        )
        self.generated_chars = Counter(
            "char_rnn_generated_chars",
            "Characters generated (/generate, /v1/completions), stop sequences included, by model",
            ["model"],
            registry=self.registry,
        )
        self._caches: dict[str, RankingCache] = {}
        self.registry.register(CacheCollector(self._caches))
        self.registry.register(ConnectionCollector())

    def count_caches(self, caches: Mapping[str, RankingCache]) -> None:
        """Report each model's predict cache by name from now on (the models are served after the
        metrics exist: their admission queues and batchers feed them)."""
        self._caches.update(caches)


def route_label(scope: Scope) -> str:
    """The matched route's template (/predict-next), never the raw path."""
    route = scope.get("route")
    return route.path if isinstance(route, BaseRoute) and hasattr(route, "path") else UNMATCHED


class RequestMetrics:
    """Counts and times every HTTP request, including the 413s answered before routing."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        def count(status: int, seconds: float) -> None:
            method = scope["method"] if scope["method"] in KNOWN_METHODS else "other"
            labels = (method, route_label(scope), str(status))
            self.metrics.requests.labels(*labels).inc()
            self.metrics.latency.labels(*labels).observe(seconds)

        await watch_response(self.app, scope, receive, send, count)
