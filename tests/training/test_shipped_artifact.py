"""The committed artifact: it loads, follows the assignment's recipe, and its recorded metrics are
what its weights give on the real corpus (skipped when CHAR_RNN_CORPUS is not available)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from model.accuracy import count_correct
from model.alphabet import encode
from model.artifact import DEFAULT_ARTIFACT, load
from tests.utils.server import REPO_ROOT
from training.data import Span, read_corpus

SHIPPED = REPO_ROOT / DEFAULT_ARTIFACT


def test_shipped_artifact_loads_and_follows_the_assignment_recipe() -> None:
    artifact = load(SHIPPED)
    hyper = artifact.manifest["hyperparameters"]
    assert (artifact.manifest["n_hidden"], artifact.seq_length) == (400, 10)
    recipe_keys = ("samples", "epochs", "lr", "lr_segment", "lr_decay", "batch_size")
    assert {key: hyper[key] for key in recipe_keys} == {
        "samples": 5000,
        "epochs": 15,
        "lr": 0.001,
        "lr_segment": 5,
        "lr_decay": 0.5,
        "batch_size": 1,
    }
    assert len(artifact.manifest["history"]) == 15
    assert artifact.manifest["data"]["train"] == {"start": 0, "end": 5010, "stride": 1}
    assert (SHIPPED / "training.png").is_file()


@pytest.mark.corpus
def test_shipped_metrics_are_recomputed_from_the_weights() -> None:
    corpus = os.environ.get("CHAR_RNN_CORPUS")
    if not corpus or not Path(corpus).is_file():
        pytest.skip("CHAR_RNN_CORPUS is not set to an existing file")
    artifact = load(SHIPPED)
    text, digest = read_corpus(corpus)
    assert digest == artifact.manifest["corpus_sha256"]
    indices = encode(text)
    for split in ("train", "heldout"):
        span = Span.from_dict(artifact.manifest["data"][split])
        measured = count_correct(artifact.params, indices, span, artifact.seq_length)
        assert artifact.manifest["metrics"][split] == measured.as_dict(), split
    assert artifact.manifest["metrics"]["train"]["samples"] == 5000
    # 5000 overlapping windows of one passage are memorised; unseen text is much harder.
    assert artifact.manifest["metrics"]["train"]["accuracy"] > 0.9
    assert 0.2 < artifact.manifest["metrics"]["heldout"]["accuracy"] < 0.5
