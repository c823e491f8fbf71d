"""`python -m bench.compressors`: the primed difference in bits, and a missing tool skipped with
the package that brings it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bench import compressors


def test_primed_bits_are_the_difference_in_size_per_character() -> None:
    # A "compressor" that stores 1 byte per character costs 8 bits a character, whatever the priming.
    assert compressors.primed_bits(len, b"x" * 100, [b"abcd", b"ab"]) == [8.0, 8.0]
    # One that stores a fixed header and 1 bit a character costs 1 bit a character.
    assert compressors.primed_bits(lambda data: 40 + len(data) // 8, b"x" * 800, [b"y" * 80]) == [1.0]


def test_missing_tools_are_skipped_and_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "book.txt").write_text("Natural selection acts by the preservation of variations. " * 20)
    (tmp_path / "prose.txt").write_text("It was the best of times, it was the worst of times.")
    monkeypatch.setattr(shutil, "which", lambda tool: None)
    arguments = [
        "--corpus",
        str(tmp_path / "book.txt"),
        "--text",
        str(tmp_path / "prose.txt"),
        "--order",
        "3",
    ]
    assert compressors.main(arguments) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "primed with 1,026 characters; test split 114, other prose 51"
    assert [line.split(" | ")[0] for line in lines[4:]] == [
        "| bzip2",
        "| xz",
        "| zstd",
        "| PPMd",
        "| zpaq",
        "| Kneser-Ney order 3 (accuracy, bits)",
    ]
    assert lines[6] == "| zstd | skipped: no `zstd` (apt-get install zstd) | | |"
    assert lines[7] == "| PPMd | skipped: no `7zz` (apt-get install 7zip) | | |"
    assert lines[8] == "| zpaq | skipped: no `zpaq` (apt-get install zpaq) | | |"
