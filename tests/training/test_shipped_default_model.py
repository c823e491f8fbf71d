"""The committed default model: it follows the darwin-lstm recipe, fits the size budget (as the
recipe's shapes do before any training), and its recorded figures (test, and validation unless
it was refitted on it), and the n-gram's beside them, are what the weights and the n-gram give
on the real corpus (skipped when CHAR_RNN_CORPUS is not available)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from model import dynamic
from model.accuracy import Positions, agrees, evaluate_split
from model.alphabet import ALPHABET_SIZE, encode
from model.artifact import WEIGHTS_FILE, load
from model.artifact_weights import MAX_WEIGHTS_BYTES, ZIP_OVERHEAD, weights_bytes
from model.language_model import ARCHITECTURES
from tests.utils.server import REPO_ROOT
from training import baseline
from training.config import RECIPES, TrainingConfig, resolve
from training.data import evaluation_splits, read_corpus

NAME = "darwin-lstm"
SHIPPED = REPO_ROOT / "artifacts" / NAME
MAX_BYTES = 20 * 1024 * 1024


def test_the_default_model_follows_its_recipe_and_the_size_budget() -> None:
    artifact = load(SHIPPED)
    manifest = artifact.manifest
    recipe = resolve(NAME, {})
    resolved = {
        field.name: getattr(recipe, field.name)
        for field in dataclasses.fields(TrainingConfig)
        if field.name in manifest["hyperparameters"]
    }
    assert manifest["hyperparameters"] == resolved
    assert (manifest["recipe"], manifest["architecture"]) == (NAME, RECIPES[NAME]["architecture"])
    assert artifact.context == recipe.context
    assert (SHIPPED / WEIGHTS_FILE).stat().st_size <= MAX_BYTES
    assert 1 <= manifest["best_epoch"] <= len(manifest["history"])
    if manifest["hyperparameters"].get("refit", False):
        assert manifest["refit"]["epochs"] == manifest["best_epoch"]
        assert manifest["refit"]["text"]["end"] == manifest["data"]["test"]["start"]
    assert (SHIPPED / "training.png").is_file()


def test_the_recipes_weights_fit_the_size_budget_before_any_training() -> None:
    """The recipe's shapes (contexts.BUCKET_BITS and DIMENSION included), in its dtype, with
    the zip's headers: an artifact trained from it fits in MAX_BYTES."""
    recipe = resolve(NAME, {})
    shapes = ARCHITECTURES[recipe.architecture].param_shapes(ALPHABET_SIZE, recipe.hidden, ALPHABET_SIZE)
    size = weights_bytes(shapes, np.dtype(recipe.dtype))
    assert size + ZIP_OVERHEAD <= MAX_BYTES
    assert size <= MAX_WEIGHTS_BYTES


@pytest.mark.corpus
@pytest.mark.slow
def test_the_default_models_figures_are_recomputed_from_the_weights(corpus: Path) -> None:
    artifact = load(SHIPPED)
    manifest = artifact.manifest
    text, digest = read_corpus(corpus)
    assert digest == manifest["corpus_sha256"]
    splits = evaluation_splits(len(text))
    reference = baseline.on_splits(text, splits, manifest["baseline"]["order"])
    # Refitted weights trained on the validation text: they record no figure of their own on it.
    refitted = manifest["hyperparameters"].get("refit", False)
    assert list(manifest["metrics"]) == (["test"] if refitted else ["validation", "test"])
    for split in ("validation", "test"):
        positions = Positions.from_dict(manifest["data"][split])
        assert positions == splits[split]
        assert manifest["baseline"][split] == baseline.record(reference[split]), split
    for split in manifest["metrics"]:
        measured = evaluate_split(artifact.model, encode(text), splits[split])
        assert agrees(manifest["metrics"][split], measured), split


@pytest.mark.corpus
@pytest.mark.slow
def test_the_default_models_adaptive_figures_are_recomputed_from_the_weights(corpus: Path) -> None:
    """The adaptive reading (dynamic evaluation) that the manifest records, on the same splits."""
    artifact = load(SHIPPED)
    adaptive = artifact.manifest["adaptive"]
    settings = (dynamic.SEGMENT, dynamic.LEARNING_RATE, dynamic.TABLE_RATE)
    assert (adaptive["segment"], adaptive["learning_rate"], adaptive["table_rate"]) == settings
    text, _ = read_corpus(corpus)
    splits = evaluation_splits(len(text))
    assert list(adaptive["metrics"]) == list(artifact.manifest["metrics"])
    for split, recorded in adaptive["metrics"].items():
        measured = evaluate_split(
            artifact.model, encode(text), splits[split], None, dynamic.evaluate_adaptive
        )
        assert agrees(recorded, measured), split
