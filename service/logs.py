"""Logging set-up: text lines for a terminal, or one JSON object per line (LOG_FORMAT=json,
written by python-json-logger).

Every record carries the request id of the request being served ("-" outside one, set by
asgi-correlation-id's filter), so an access line, an error's traceback and the client's
X-Request-ID can be joined. RepeatLimit stays hand-written: no kept library rate-limits
repeated log records.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from pythonjsonlogger import json
from pythonjsonlogger.core import RESERVED_ATTRS

from service.request_id import NONE, log_filter
from service.settings import Settings

MAX_TRACKED_MESSAGES = 1000  # distinct repeated messages RepeatLimit remembers at once
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
RENAMED = {"name": "logger", "levelname": "level", "correlation_id": "request_id", "exc_info": "exception"}
# Record attributes that are no log field: uvicorn's copy of the message with terminal colours,
# and asyncio's task name.
NOT_LOGGED = ("color_message", "taskName")


class RepeatLimit(logging.Filter):
    """At most one record per `period` seconds for each repeated warning or error message.

    A fault outside any request (descriptors exhausted, a client sending garbage in a loop)
    makes asyncio and uvicorn log the same traceback per event; the first is kept, the
    repeats are counted, and the next record let through says how many were dropped.
    """

    def __init__(self, period: float = 10.0, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.period = period
        self.clock = clock
        self._seen: dict[tuple[str, str], tuple[float, int]] = {}
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        key, now = (record.name, record.getMessage()), self.clock()
        with self._lock:
            since, dropped = self._seen.get(key, (now - self.period, 0))
            if now - since < self.period:
                self._seen[key] = (since, dropped + 1)
                return False
            if len(self._seen) >= MAX_TRACKED_MESSAGES:
                self._seen.clear()
            self._seen[key] = (now, 0)
        if dropped:
            record.msg = f"{record.getMessage()} [{dropped} repeats in the last {self.period:g} s not logged]"
            record.args = ()
        return True


class JsonFormatter(json.JsonFormatter):
    """One JSON object per record: time (UTC, ISO 8601), level, logger, message, request_id, then
    whatever the caller passed as `extra` (the access log's client, method, path, status and
    duration_ms), and the traceback as exception."""

    def __init__(self) -> None:
        super().__init__(
            "{message}{name}{levelname}{correlation_id}",
            style="{",
            rename_fields=RENAMED,
            reserved_attrs=[*RESERVED_ATTRS, *NOT_LOGGED],
            timestamp="time",
            json_ensure_ascii=False,
        )

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        first = {
            "time": log_data.pop("time").isoformat(timespec="milliseconds"),
            "level": log_data.pop("level").lower(),
            "logger": log_data.pop("logger"),
            "message": log_data.pop("message"),
            "request_id": log_data.pop("request_id") or NONE,  # None: a record no filter saw
        }
        return first | log_data


def configure_logging(settings: Settings) -> None:
    """Root handler on stderr in the chosen format; uvicorn's own loggers propagate to it."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(log_filter())
    handler.addFilter(RepeatLimit())
    if settings.log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    logging.basicConfig(level=settings.log_level.upper(), handlers=[handler], force=True)
