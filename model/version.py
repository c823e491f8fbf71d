"""The package's version, read from its installed metadata: pyproject.toml is the one source."""

from __future__ import annotations

import argparse
import os
import sys
from importlib.metadata import PackageNotFoundError, version

DISTRIBUTION = "char-rnn-service"


def package_version() -> str:
    """The installed version of char-rnn-service, or 0+unknown when run from an uninstalled tree."""
    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:
        return "0+unknown"


def add_version_option(parser: argparse.ArgumentParser) -> None:
    """--version: print "char-rnn-service VERSION" and exit, for every command."""
    parser.add_argument("--version", action="version", version=f"{DISTRIBUTION} {package_version()}")


def program_name(module_command: str) -> str:
    """The command as the user typed it: a console script's name (char-rnn-serve), or
    `module_command` (python -m service) when run as a module."""
    name = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    return name if name.startswith("char-rnn-") else module_command
