"""An in-process client for the ASGI app, its lifespan, and settings that ignore the shell."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from anyio.from_thread import BlockingPortal, start_blocking_portal
from fastapi import FastAPI
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from service.settings import Settings


class ExplicitSettings(Settings):
    """Settings from keyword arguments only: a session fixture never reads the shell's variables."""

    @classmethod
    def settings_customise_sources(
        cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource, *_: Any, **__: Any
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


class ASGIClient:
    """A synchronous httpx client for an ASGI app, safe to call from many threads at once.

    Requests run on one event loop in a background thread (an anyio blocking portal), the
    way a server runs them; the app's exceptions propagate, so a 500 fails the test.
    """

    def __init__(self, app: FastAPI, raise_app_exceptions: bool = True) -> None:
        self.app = app
        self._portal_context = start_blocking_portal()
        self._portal: BlockingPortal = self._portal_context.__enter__()
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=raise_app_exceptions)
        self._client = httpx.AsyncClient(transport=transport, base_url="http://testserver")

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        return self._portal.call(functools.partial(self._client.request, method, url, **kwargs))

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def close(self) -> None:
        self._portal.call(self._client.aclose)
        self._portal_context.__exit__(None, None, None)


@contextmanager
def lifespan(app: FastAPI) -> Iterator[None]:
    """The app's start-up (warm-up included) on entry, its shutdown on exit, as a server runs them."""
    context = app.router.lifespan_context(app)
    with start_blocking_portal() as portal:
        portal.call(context.__aenter__)
        try:
            yield
        finally:
            portal.call(context.__aexit__, None, None, None)
