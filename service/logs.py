"""Logging set-up: text lines for a terminal, or one JSON object per line (LOG_FORMAT=json).

Every record carries the request id of the request being served ("-" outside one), so an
access line, an error's traceback and the client's X-Request-ID can be joined.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from service.request_id import current_request_id
from service.settings import Settings

MAX_TRACKED_MESSAGES = 1000  # distinct repeated messages RepeatLimit remembers at once
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Fields the access log passes as `extra`; the JSON formatter writes them as they are.
ACCESS_FIELDS = ("client", "method", "path", "status", "duration_ms")


class RequestIdFilter(logging.Filter):
    """Give every record a request_id unless its caller set one."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id.get() or "-"
        return True


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


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, request_id, access fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
        }
        entry.update({name: getattr(record, name) for name in ACCESS_FIELDS if hasattr(record, name)})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(settings: Settings) -> None:
    """Root handler on stderr in the chosen format; uvicorn's own loggers propagate to it."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RequestIdFilter())
    handler.addFilter(RepeatLimit())
    if settings.log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    logging.basicConfig(level=settings.log_level.upper(), handlers=[handler], force=True)
