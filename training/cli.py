"""Command line of the trainer, built from TrainingConfig. Arguments are parsed before NumPy
is imported so that the BLAS thread count can follow the batch size: batch 1 is a chain of
small matrix-vector products that a second BLAS thread only slows down."""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import typing
from pathlib import Path
from typing import Any

from model.blas import set_default_threads
from model.version import add_version_option, program_name
from training.config import RECIPES, TrainingConfig, resolve


def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def recipe_defaults(name: str) -> str:
    """What each recipe other than the defaults sets this field to, for --help."""
    return "".join(f"; {recipe}: {values[name]}" for recipe, values in RECIPES.items() if name in values)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=program_name("python -m training"),
        description="Train the character RNN on the simplified corpus.",
    )
    add_version_option(parser)
    types = typing.get_type_hints(TrainingConfig)
    for item in dataclasses.fields(TrainingConfig):
        help_text = f"{item.metadata['help']} (default: {item.metadata['shown']}{recipe_defaults(item.name)})"
        if types[item.name] is bool:
            # --no-NAME too: a recipe may turn a switch on that a run wants off.
            action = argparse.BooleanOptionalAction
            parser.add_argument(flag(item.name), action=action, default=None, help=help_text)
            continue
        kind = Path if "Path" in str(types[item.name]) else types[item.name]
        choices = item.metadata["choices"]
        # None marks a flag not given, so that the recipe's value stands.
        parser.add_argument(flag(item.name), type=kind, default=None, choices=choices, help=help_text)
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bars on stderr (default: only when stderr is a terminal)",
    )
    return parser


def parse_config(argv: list[str] | None = None) -> tuple[TrainingConfig, bool]:
    """The configuration and whether to show progress bars; exits with usage on bad values."""
    parser = build_parser()
    args = vars(parser.parse_args(argv))
    progress = args.pop("progress")
    recipe = args.pop("recipe") or "assignment"
    config = resolve(recipe, {name: value for name, value in args.items() if value is not None})
    for name, problem in config.problems():
        parser.error(f"{flag(name)} {problem}")
    return config, sys.stderr.isatty() if progress is None else progress


def main(argv: list[str] | None = None) -> int:
    config, show_progress = parse_config(argv)
    set_default_threads(1 if config.batch_size == 1 else os.cpu_count() or 1)
    from model.artifact_checks import ArtifactError  # imports NumPy
    from training.pipeline import run

    try:
        manifest: dict[str, Any] = run(config, show_progress=show_progress)
    except KeyboardInterrupt:
        print(interrupted(config), file=sys.stderr)
        return 130
    except (OSError, ValueError, FloatingPointError, ArtifactError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"wrote {config.out}: {manifest['sentence']}")
    return 0


def interrupted(config: TrainingConfig) -> str:
    """The one line Ctrl-C prints: what was kept, and how to continue a language model."""
    from training import checkpoint

    if config.architecture == "rnn":
        return "interrupted: nothing written"
    refit_epoch = checkpoint.saved_epoch(checkpoint.refit_path_for(config.out))
    epoch = checkpoint.saved_epoch(checkpoint.path_for(config.out))
    if refit_epoch is not None:
        held = f"epoch {epoch} and the refit's epoch {refit_epoch}"
    elif epoch is not None:
        held = f"epoch {epoch}"
    else:
        return "interrupted: nothing written"
    return (
        f"interrupted: no artifact written; the checkpoint holds {held}: "
        "run the same command with --resume to continue"
    )
