"""Running an app's lifespan from a test, as a server does around its requests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from anyio.from_thread import start_blocking_portal
from fastapi import FastAPI


@contextmanager
def lifespan(app: FastAPI) -> Iterator[None]:
    """Start-up (warm-up included) on entry, shutdown on exit, on an event loop of their own."""
    context = app.router.lifespan_context(app)
    with start_blocking_portal() as portal:
        portal.call(context.__aenter__)
        try:
            yield
        finally:
            portal.call(context.__aexit__, None, None, None)
