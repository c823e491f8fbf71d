"""The sessions in README.md and docs/api.md, run on the committed artifacts (every one under
artifacts/, as `make serve` serves them).

Each `$ curl -s localhost:8000/...` line is followed by its output, up to the next `$ ` line or
the end of the block: one line of JSON, optionally ending in " (HTTP 422)", or the lines of an
event stream. Curl examples run through the app in process. A `$ python - <<'EOF'` example (a
script up to the `EOF` line, then its output) runs as a process against a real server, with
localhost:8000 replaced by that server's address. The test (tests/test_docs_examples.py)
compares every output byte for byte; after retraining the artifact, `make docs-examples`
rewrites them from
the app, with the README's models table (tests/utils/model_table.py) and docs/api.md's settings
table (tests/utils/settings_table.py):

    python -m tests.utils.examples --write
"""

from __future__ import annotations

import argparse
import re
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import httpx

from service.app import create_app
from service.settings import DEFAULT_ARTIFACTS
from tests.utils import model_table, settings_table
from tests.utils.client import ASGIClient, ExplicitSettings
from tests.utils.server import REPO_ROOT, running_server

DOCUMENTS = (REPO_ROOT / "README.md", REPO_ROOT / "docs" / "api.md")
STATUS = re.compile(r" \(HTTP (\d{3})\)$")
# A completion's `created` is the time it was made: the one part of an answer that no two runs
# share. The comparison takes the documented time in its place.
CREATED = re.compile(r'"created":\d+')
FORM = "application/x-www-form-urlencoded"  # what curl -d sends without -H
PYTHON = "python - <<'EOF'"
DOCUMENTED_ADDRESS = "localhost:8000"


@dataclass(frozen=True)
class Example:
    line: int  # index of the output's first line in the document
    command: str  # the curl command, or the Python script
    output: str
    end: int = -1  # index of the line after the output

    @property
    def is_python(self) -> bool:
        return not self.command.startswith("curl ")

    def request(self) -> tuple[str, str, dict[str, str], str | None]:
        """(method, path, headers, body) as curl would send them."""
        words = shlex.split(self.command, comments=True)
        url = next(word for word in words if word.startswith("localhost:8000"))
        headers: dict[str, str] = {}
        body = None
        for flag, value in zip(words, words[1:], strict=False):
            if flag == "-H":
                name, _, header = value.partition(":")
                headers[name.strip()] = header.strip()
            elif flag == "-d":
                body = value
        if body is not None:
            headers.setdefault("Content-Type", FORM)
        return ("POST" if body is not None else "GET"), url.removeprefix("localhost:8000"), headers, body


def examples(text: str) -> list[Example]:
    lines = text.splitlines()
    found = []
    for index, line in enumerate(lines):
        if line.startswith("$ curl "):
            command, start = line.removeprefix("$ "), index + 1
        elif line == f"$ {PYTHON}":
            start = lines.index("EOF", index) + 1
            command = "\n".join(lines[index + 1 : start - 1])
        else:
            continue
        end = start + 1
        while end < len(lines) and not lines[end].startswith(("$ ", "```")):
            end += 1
        found.append(Example(start, command, "\n".join(lines[start:end]), end))
    return found


class Client(Protocol):
    """What sends an example: the in-process ASGIClient, or an httpx.Client on a real server."""

    def request(
        self, method: str, url: str, *, headers: dict[str, str], content: str | None
    ) -> httpx.Response: ...


def actual_output(client: Client, example: Example, server_url: str | None = None) -> str:
    """The answer's body (an event stream without its last blank line), with " (HTTP nnn)" when
    the document marks the status there; a Python example's standard output."""
    if example.is_python:
        assert server_url is not None, "a Python example needs a real server"
        return run_python(example.command, server_url)
    method, path, headers, body = example.request()
    response = client.request(method, path, headers=headers, content=body)
    marked = STATUS.search(example.output)
    text = response.text.removesuffix("\n\n") + (f" (HTTP {response.status_code})" if marked else "")
    documented = CREATED.search(example.output)
    if path.startswith("/v1/completions") and documented:
        text = CREATED.sub(documented.group(0), text)
    return text


def run_python(script: str, server_url: str) -> str:
    address = server_url.removeprefix("http://")
    code = script.replace(DOCUMENTED_ADDRESS, address)
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=REPO_ROOT, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.removesuffix("\n")


@contextmanager
def shipped_server() -> Iterator[str]:
    """A real server on the committed artifacts, for the Python examples; its base URL."""
    with (
        tempfile.TemporaryDirectory() as directory,
        running_server(None, Path(directory) / "server.log") as server,
    ):
        yield server.base_url


def shipped_client() -> ASGIClient:
    return ASGIClient(create_app(ExplicitSettings(CHAR_RNN_ARTIFACTS=(REPO_ROOT / DEFAULT_ARTIFACTS,))))


def rewrite(path: Path, client: ASGIClient, server_url: str) -> int:
    """Replace each output of `path` by the real one; how many outputs changed."""
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    changed = 0
    for example in reversed(examples(text)):  # from the end, so earlier indices stay right
        actual = actual_output(client, example, server_url)
        if actual != example.output:
            lines[example.line : example.end] = [line + "\n" for line in actual.split("\n")]
            changed += 1
    path.write_text("".join(lines), encoding="utf-8")
    return changed


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.utils.examples", description=__doc__)
    parser.add_argument("--write", action="store_true", help="rewrite the outputs in the documents")
    args = parser.parse_args()
    if args.write:
        print(f"README.md: models table {'rewritten' if model_table.rewrite() else 'unchanged'}")
        print(f"docs/api.md: settings table {'rewritten' if settings_table.rewrite() else 'unchanged'}")
    client = shipped_client()
    try:
        with shipped_server() as server_url:
            for path in DOCUMENTS:
                if args.write:
                    changed = rewrite(path, client, server_url)
                    print(f"{path.relative_to(REPO_ROOT)}: {changed} outputs rewritten")
                else:
                    text = path.read_text(encoding="utf-8")
                    stale = [
                        e.command for e in examples(text) if actual_output(client, e, server_url) != e.output
                    ]
                    print(f"{path.relative_to(REPO_ROOT)}: {len(stale)} stale outputs", *stale, sep="\n  ")
    finally:
        client.close()


if __name__ == "__main__":
    main()
