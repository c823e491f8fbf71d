"""The compressors' bar: bits per character of general-purpose compressors primed with the book.

python -m bench.compressors [--corpus PATH] [--text FILE ...] [--order 10]

Each compressor codes the simplified text of all the book before the test split (the text the
n-grams are fitted on), then the same followed by the text measured; the difference in size, in
bits per character measured, is what the text costs a compressor that has read the book first:
(size(train + text) - size(train)) * 8 / len(text). The texts measured are the test split and
other writers' prose (`--text`, by default Debian's `fortunes` files that bench/other_prose.py
reads, simplified the same way). Compressors adapt as they read; the models are static.

bzip2 and xz come from Python's standard library, zstd from its command-line tool, PPMd from
Debian's `7zip` package (`7zz`) and zpaq from Debian's `zpaq`; each that is missing is
skipped, saying which package brings it. The interpolated Kneser-Ney n-gram
(training/kneser_ney.py) is measured on the same texts beside them, with its accuracy.
"""

from __future__ import annotations

import argparse
import bz2
import lzma
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.other_prose import read_prose
from model.accuracy import Positions, text_positions
from model.alphabet import encode
from training import kneser_ney
from training.data import default_corpus_path, evaluation_splits, read_corpus

FORTUNES = Path("/usr/share/games/fortunes")
PROSE = tuple(FORTUNES / name for name in ("literature", "wisdom", "people", "love", "humorists"))


@dataclass(frozen=True)
class Compressor:
    name: str
    setting: str  # how it is run, as docs/model.md shows it
    tool: str | None  # the command it needs, None for a standard-library module
    package: str  # the Debian package that brings the tool
    size: Callable[[bytes], int]  # bytes of the compressed data


def archive_size(command: list[str], archive: str, data: bytes) -> int:
    """Bytes of the archive `command` writes from a file named "text" holding `data`, in a fresh
    directory (the same names each time, so the headers cancel in a difference)."""
    with tempfile.TemporaryDirectory() as scratch:
        (Path(scratch) / "text").write_bytes(data)
        subprocess.run(command, cwd=scratch, check=True, capture_output=True)
        return (Path(scratch) / archive).stat().st_size


def zstd_size(data: bytes) -> int:
    done = subprocess.run(
        ["zstd", "--ultra", "-22", "--long=27", "-c"], input=data, check=True, capture_output=True
    )
    return len(done.stdout)


COMPRESSORS = (
    Compressor("bzip2", "bzip2 -9 (Python's bz2)", None, "", lambda data: len(bz2.compress(data, 9))),
    Compressor(
        "xz",
        "xz -9e (Python's lzma)",
        None,
        "",
        lambda data: len(lzma.compress(data, preset=9 | lzma.PRESET_EXTREME)),
    ),
    Compressor("zstd", "zstd --ultra -22 --long=27", "zstd", "zstd", zstd_size),
    Compressor(
        "PPMd",
        "7zz a -m0=PPMd:o=8:mem=1g",
        "7zz",
        "7zip",
        lambda data: archive_size(["7zz", "a", "-m0=PPMd:o=8:mem=1g", "a.7z", "text"], "a.7z", data),
    ),
    Compressor(
        "zpaq",
        "zpaq a -m5",
        "zpaq",
        "zpaq",
        lambda data: archive_size(["zpaq", "a", "a.zpaq", "text", "-m5"], "a.zpaq", data),
    ),
)


def primed_bits(size: Callable[[bytes], int], train: bytes, texts: list[bytes]) -> list[float]:
    """Bits per character of each text, coded after `train`."""
    alone = size(train)
    return [(size(train + text) - alone) * 8 / len(text) for text in texts]


def kneser_ney_row(book: str, test: Positions, prose: str, order: int) -> str:
    """The Kneser-Ney n-gram, fitted on the book before the test split, on both texts."""
    model = kneser_ney.fit(encode(book[: test.start]), order)
    on_test = kneser_ney.evaluate(model, encode(book), test)
    prose_indices = encode(prose)
    positions = text_positions(prose_indices)
    if positions is None:
        raise ValueError("--text: no letters to predict")
    on_prose = kneser_ney.evaluate(model, prose_indices, positions)
    return (
        f"| Kneser-Ney order {order} (accuracy, bits) | `python -m training.baseline` | "
        f"{on_test.accuracy:.2%}, {on_test.bits_per_char:.3f} | "
        f"{on_prose.accuracy:.2%}, {on_prose.bits_per_char:.3f} |"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.compressors", description=__doc__)
    parser.add_argument("--corpus", type=Path, default=None, help="the book (default: $CHAR_RNN_CORPUS)")
    parser.add_argument("--text", action="append", type=Path, help="other prose (default: fortunes files)")
    parser.add_argument("--order", type=int, default=10, help="the Kneser-Ney n-gram's order (default: 10)")
    args = parser.parse_args(argv)
    book, _ = read_corpus(args.corpus or default_corpus_path())
    test = evaluation_splits(len(book))["test"]
    paths = args.text or [path for path in PROSE if path.is_file()]
    if not paths:
        parser.error(f"--text: no prose given and none at {FORTUNES} (apt-get install fortunes)")
    prose = read_prose(paths)
    train, texts = book[: test.start].encode(), [book[test.start :].encode(), prose.encode()]
    print(
        f"primed with {len(train):,} characters; test split {len(texts[0]):,}, other prose {len(texts[1]):,}"
    )
    print("\n| predictor | run as | test split, bits/char | other prose, bits/char |")
    print("| --- | --- | ---: | ---: |")
    for compressor in COMPRESSORS:
        if compressor.tool is not None and shutil.which(compressor.tool) is None:
            missing = f"no `{compressor.tool}` (apt-get install {compressor.package})"
            print(f"| {compressor.name} | skipped: {missing} | | |")
            continue
        on_test, on_prose = primed_bits(compressor.size, train, texts)
        print(f"| {compressor.name} | `{compressor.setting}` | {on_test:.3f} | {on_prose:.3f} |", flush=True)
    print(kneser_ney_row(book, test, prose, args.order))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
