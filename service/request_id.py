"""X-Request-ID, from asgi-correlation-id: the client's id when it is safe to echo and log, a
fresh random one otherwise, echoed in the response header and set for every log record.

The library accepts only UUIDs by default; the service keeps its own, wider bound (SAFE_ID), so
a caller's "abc-123" or W3C trace id is kept while anything that could forge a log line or
break a header is replaced. The id lives in the library's context variable for the request's
task: the access log, the error handlers (even the 500 handler, which runs outside every
middleware) and the log filter all read it there.
"""

from __future__ import annotations

import re
import uuid

from asgi_correlation_id import CorrelationIdFilter, correlation_id
from starlette.types import Scope

HEADER = "X-Request-ID"
# Letters, digits and a few separators, at most 128: nothing that could forge a log line,
# break a JSON log or a header, and long enough for a UUID, a W3C trace id or a ULID.
SAFE_ID = re.compile(r"[A-Za-z0-9._:@=+/-]{1,128}")
NONE = "-"  # the id logged and returned outside any request


def new_request_id() -> str:
    return uuid.uuid4().hex


def is_safe(value: str) -> bool:
    """Whether a client's id may be echoed and logged as it is."""
    return SAFE_ID.fullmatch(value) is not None


def request_id_of(scope: Scope) -> str | None:
    """The id of the request being served (`scope` is that request's); None outside one."""
    return correlation_id.get()


def log_filter() -> CorrelationIdFilter:
    """Sets `correlation_id` on every record: the request's id, or "-"."""
    return CorrelationIdFilter(default_value=NONE)
