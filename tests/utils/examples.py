"""The curl sessions in README.md and docs/api.md, run through the app on the committed artifacts
(every one under artifacts/, as `make serve` serves them).

Each `$ curl -s localhost:8000/...` line is followed by its output line, optionally ending in
" (HTTP 422)". The test (tests/test_docs_examples.py) compares every output byte for byte;
after retraining the artifact, `make docs-examples` rewrites them from the app, with the README's
models table (tests/utils/model_table.py) and docs/api.md's settings table
(tests/utils/settings_table.py):

    python -m tests.utils.examples --write
"""

from __future__ import annotations

import argparse
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

from service.app import create_app
from service.settings import DEFAULT_ARTIFACTS
from tests.utils import model_table, settings_table
from tests.utils.client import ASGIClient, ExplicitSettings
from tests.utils.server import REPO_ROOT

DOCUMENTS = (REPO_ROOT / "README.md", REPO_ROOT / "docs" / "api.md")
STATUS = re.compile(r" \(HTTP (\d{3})\)$")
FORM = "application/x-www-form-urlencoded"  # what curl -d sends without -H


@dataclass(frozen=True)
class Example:
    line: int  # index of the output line in the document
    command: str
    output: str

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
    return [
        Example(index + 1, line.removeprefix("$ "), lines[index + 1])
        for index, line in enumerate(lines)
        if line.startswith("$ curl ")
    ]


def actual_output(client: ASGIClient, example: Example) -> str:
    """The answer's body, with " (HTTP nnn)" when the document marks the status there."""
    method, path, headers, body = example.request()
    response = client.request(method, path, headers=headers, content=body)
    marked = STATUS.search(example.output)
    return response.text + (f" (HTTP {response.status_code})" if marked else "")


def shipped_client() -> ASGIClient:
    return ASGIClient(create_app(ExplicitSettings(CHAR_RNN_ARTIFACTS=(REPO_ROOT / DEFAULT_ARTIFACTS,))))


def rewrite(path: Path, client: ASGIClient) -> int:
    """Replace each output line of `path` by the real one; how many lines changed."""
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    changed = 0
    for example in examples(text):
        actual = actual_output(client, example)
        if actual != example.output:
            lines[example.line] = actual + "\n"
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
        for path in DOCUMENTS:
            if args.write:
                print(f"{path.relative_to(REPO_ROOT)}: {rewrite(path, client)} output lines rewritten")
            else:
                text = path.read_text(encoding="utf-8")
                stale = [e.command for e in examples(text) if actual_output(client, e) != e.output]
                print(f"{path.relative_to(REPO_ROOT)}: {len(stale)} stale outputs", *stale, sep="\n  ")
    finally:
        client.close()


if __name__ == "__main__":
    main()
