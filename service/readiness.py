"""Readiness: starting until the model is warmed up, ready, then draining once shutdown begins.

Liveness and readiness differ on purpose: a process that is starting or draining is alive
(restarting it would not help) but must not get new traffic.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Literal

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool

from service.metrics import Metrics
from service.registry import ModelRegistry
from service.served import ServedModel

State = Literal["starting", "ready", "draining"]
logger = logging.getLogger("service")


class Readiness:
    """One state, set from the lifespan and from the server's signal handler (hence the lock)."""

    def __init__(self) -> None:
        self._state: State = "starting"
        self._lock = threading.Lock()

    @property
    def state(self) -> State:
        return self._state

    def mark_starting(self) -> None:
        """A new start-up of the app (a test client may run its lifespan again after a shutdown)."""
        with self._lock:
            self._state = "starting"

    def mark_ready(self) -> None:
        with self._lock:
            if self._state == "starting":  # a drain that began during warm-up stays a drain
                self._state = "ready"

    def drain(self) -> None:
        with self._lock:
            self._state = "draining"


def warm_up(model: ServedModel) -> None:
    """One forward pass through every code path a first request would take, outside the cache."""
    window = "a" * (model.context or 16)  # a model that reads whole texts: 16 characters
    model.probabilities([window, window[: max(1, len(window) - 1)]])
    model.generate(window, 1, 1.0, seed=0)


def lifespan_for(
    models: ModelRegistry, readiness: Readiness, metrics: Metrics
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """The app's lifespan: warm up every model, report ready; on shutdown report draining."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        readiness.mark_starting()
        for model in models.served:
            await run_in_threadpool(warm_up, model)
            metrics.model_loaded.labels(model.name).set(1)
        readiness.mark_ready()
        logger.info("models %s warmed up; ready", ", ".join(models.names))
        try:
            yield
        finally:
            readiness.drain()

    return lifespan
