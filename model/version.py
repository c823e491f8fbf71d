"""The package's version, read from its installed metadata: pyproject.toml is the one source."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

DISTRIBUTION = "char-rnn-service"


def package_version() -> str:
    """The installed version of char-rnn-service, or 0+unknown when run from an uninstalled tree."""
    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:
        return "0+unknown"
