"""Safe names: what a log line and a metric label may carry."""

from __future__ import annotations

import pytest

from model.names import check_name


@pytest.mark.parametrize("name", ["char-rnn-assignment", "a", "M.2_x-y", "9" * 64])
def test_safe_names_pass(name: str) -> None:
    assert check_name(name) == name


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("evil\n2026-01-01 INFO forged line", "'evil\\n2026-01-01 INFO forged line'"),
        ("red\x1b[31m", "'red\\x1b[31m'"),
        ("", "''"),
        ("-leading-dash", "'-leading-dash'"),
        ("a" * 65, repr("a" * 65)),
        ("a/b", "'a/b'"),
        (7, "7"),
    ],
)
def test_unsafe_names_are_refused_and_shown_escaped(name: object, shown: str) -> None:
    with pytest.raises(ValueError) as raised:
        check_name(name)
    assert str(raised.value) == f"name {shown} is not 1 to 64 of A-Za-z0-9._- starting with a letter or digit"
