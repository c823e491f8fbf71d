"""Names of models and artifacts: the characters that are safe in a path, a log line and a label.

A name travels into log lines and Prometheus labels; a newline or an ANSI escape in it would
forge log lines or rewrite a terminal, so only this set is accepted.
"""

from __future__ import annotations

import re

SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
SAFE_NAME_RULE = "1 to 64 of A-Za-z0-9._- starting with a letter or digit"


def check_name(name: object) -> str:
    """`name` if it is a string matching SAFE_NAME, else ValueError that shows it escaped."""
    if not isinstance(name, str) or SAFE_NAME.fullmatch(name) is None:
        raise ValueError(f"name {name!r} is not {SAFE_NAME_RULE}")
    return name


ECHO_CHARS = 64  # the longest valid name: a message quotes at most this much of a value it was given


def clipped(value: str) -> str:
    """`value` quoted for a message, cut to ECHO_CHARS characters with its full length after:
    an error never copies a long input back into its answer or into a log line."""
    if len(value) <= ECHO_CHARS:
        return repr(value)
    return f"{value[:ECHO_CHARS]!r}... ({len(value):,} characters)"
