"""The domain's error for a value it cannot use, naming the argument, never an HTTP field."""

from __future__ import annotations

Path = tuple[str | int, ...]


class ArgumentError(ValueError):
    """`path` names the argument, then the key or index inside it: ("weights", "W_f"), ("texts", 3).

    An empty path means the arguments together are wrong, not one of them. `kind` classifies
    the fault in pydantic's vocabulary (value_error, too_short, too_long, string_too_long), so
    that a caller reports it as it reports pydantic's own errors.
    """

    def __init__(self, path: Path, message: str, kind: str = "value_error") -> None:
        super().__init__(message)
        self.path = path
        self.message = message
        self.kind = kind
