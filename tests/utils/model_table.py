"""The README's table of the committed models, written from their manifests and weights, so
that no figure in it is typed by hand. tests/test_docs_examples.py checks it;
`python -m tests.utils.examples --write` (make docs-examples) rewrites it."""

from __future__ import annotations

import re
from pathlib import Path

from model.artifact import Artifact, load
from service.settings import DEFAULT_ARTIFACTS
from tests.utils.server import REPO_ROOT

START, END = "<!-- models: written by make docs-examples -->", "<!-- /models -->"
BLOCK = re.compile(re.escape(START) + r".*?" + re.escape(END), re.S)
HEADER = (
    "| model | architecture | reads | parameters | test accuracy, bits/char | adaptive "
    "| Kneser-Ney 10-gram | backoff n-gram | training time |\n"
    "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"
)


def figures(record: dict[str, float] | None) -> str:
    """ "accuracy, bits/char" of a manifest's record, or "-" where it holds none."""
    if record is None:
        return "-"
    bits = record.get("bits_per_char")
    return f"{record['accuracy']:.2%}" + (f", {bits:.3f}" if bits is not None else "")


def row(artifact: Artifact) -> str:
    manifest = artifact.manifest
    parameters = sum(int(array.size) for array in artifact.params.values())
    minutes = manifest["training_seconds"] / 60
    reads = f"{artifact.context} characters" if artifact.context else "the whole text"
    adaptive = manifest.get("adaptive", {}).get("metrics", {}).get("test")
    kneser_ney = manifest["baseline"].get("kneser_ney", {}).get("test")
    return (
        f"| `{artifact.name}` | {artifact.architecture.description}, H = {manifest['n_hidden']} "
        f"| {reads} | {parameters:,} | {figures(manifest['metrics']['test'])} | {figures(adaptive)} "
        f"| {figures(kneser_ney)} | {figures(manifest['baseline']['test'])} | {minutes:.1f} min |"
    )


def table(root: Path = REPO_ROOT / DEFAULT_ARTIFACTS) -> str:
    artifacts = [load(path) for path in sorted(root.iterdir()) if (path / "manifest.json").is_file()]
    return "\n".join([START, HEADER, *(row(artifact) for artifact in artifacts), END])


def rewrite(readme: Path = REPO_ROOT / "README.md") -> bool:
    """Write the current table into the README; whether anything changed."""
    text = readme.read_text(encoding="utf-8")
    updated = BLOCK.sub(lambda _: table(), text)
    readme.write_text(updated, encoding="utf-8")
    return updated != text
