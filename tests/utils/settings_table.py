"""docs/api.md's table of settings, written from service.settings.Settings (each field's alias,
default, bounds or choices, and description), so that no default is typed twice.
tests/test_docs_examples.py checks it; `python -m tests.utils.examples --write` (make
docs-examples) rewrites it."""

from __future__ import annotations

import re
import typing
from pathlib import Path
from typing import Any

from annotated_types import Ge, Le, MinLen
from pydantic.fields import FieldInfo

from service.settings import Settings
from tests.utils.server import REPO_ROOT

START, END = "<!-- settings: written by make docs-examples -->", "<!-- /settings -->"
BLOCK = re.compile(re.escape(START) + r".*?" + re.escape(END), re.S)
HEADER = "| variable | default | values | meaning |\n| --- | --- | --- | --- |"
API = REPO_ROOT / "docs" / "api.md"


def shown_default(value: Any) -> str:
    if value is None:
        return "unset"
    if isinstance(value, tuple):
        return ", ".join(f"`{item}`" for item in value) if value else "empty"
    if isinstance(value, str | Path):
        return f"`{value}`"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def shown_values(field: FieldInfo) -> str:
    """The choices of a Literal, else the bounds a value must keep."""
    if typing.get_origin(field.annotation) is typing.Literal:
        choices = typing.get_args(field.annotation)
        return ", ".join(f"`{choice}`" for choice in choices)
    low = next((item.ge for item in field.metadata if isinstance(item, Ge)), None)
    high = next((item.le for item in field.metadata if isinstance(item, Le)), None)
    if low is not None and high is not None:
        return f"{low} to {high}"
    if low is not None:
        return f"at least {low}"
    if any(isinstance(item, MinLen) for item in field.metadata):
        return "not empty"
    return ""


def row(field: FieldInfo) -> str:
    cells = (f"`{field.alias}`", shown_default(field.default), shown_values(field), field.description)
    return "| " + " | ".join(str(cell) for cell in cells) + " |"


def table() -> str:
    return "\n".join([START, HEADER, *(row(field) for field in Settings.model_fields.values()), END])


def rewrite(document: Path = API) -> bool:
    """Write the current table into docs/api.md; whether anything changed."""
    text = document.read_text(encoding="utf-8")
    updated = BLOCK.sub(lambda _: table(), text)
    document.write_text(updated, encoding="utf-8")
    return updated != text
