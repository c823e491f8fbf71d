"""Command line of the trainer. Arguments are parsed before NumPy is imported so that the
BLAS thread count can follow the batch size: batch 1 is a chain of small matrix-vector
products that a second BLAS thread only slows down."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m training", description="Train the character RNN on the simplified corpus."
    )
    parser.add_argument("--corpus", type=Path, default=None, help="default: $CHAR_RNN_CORPUS, else data/...")
    parser.add_argument("--out", type=Path, default=Path("artifacts/char-rnn-assignment"))
    parser.add_argument("--hidden", type=int, default=400)
    parser.add_argument("--seq-length", type=int, default=10)
    parser.add_argument("--samples", type=int, default=5000)
    parser.add_argument("--stride", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--lr", type=float, default=0.001)
    parser.add_argument("--lr-segment", type=int, default=5, help="epochs per learning-rate segment")
    parser.add_argument("--lr-decay", type=float, default=0.5, help="factor applied at each new segment")
    parser.add_argument("--batch-size", type=int, default=1, help="1 = per-sample SGD as the seed")
    parser.add_argument("--clip", type=float, default=5.0, help="clip each gradient entry to +-CLIP; 0 = off")
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--force", action="store_true", help="replace an existing artifact")
    parser.add_argument("--no-progress", action="store_true")
    return parser


def validate(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    for name in ("hidden", "seq_length", "samples", "stride", "epochs", "lr_segment", "batch_size"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1")
    if not args.lr > 0:
        parser.error("--lr must be > 0")
    if not 0 < args.lr_decay <= 1:
        parser.error("--lr-decay must be in (0, 1]")
    if args.clip < 0:
        parser.error("--clip must be >= 0")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    validate(parser, args)
    threads = "1" if args.batch_size == 1 else str(os.cpu_count() or 1)
    for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(variable, threads)
    from training.pipeline import TrainingConfig, run  # imports NumPy

    config = TrainingConfig(**{key: value for key, value in vars(args).items() if key != "no_progress"})
    try:
        manifest: dict[str, Any] = run(config, show_progress=not args.no_progress)
    except (FileNotFoundError, FileExistsError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"wrote {config.out}: {manifest['sentence']}")
    return 0
