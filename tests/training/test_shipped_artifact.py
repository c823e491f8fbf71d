"""The committed artifact: it loads, follows the assignment's recipe, and its recorded metrics and
baseline are what its weights and the n-gram give on the real corpus (skipped when
CHAR_RNN_CORPUS is not available)."""

from __future__ import annotations

from pathlib import Path

import pytest

from model.accuracy import Positions, evaluate, sentence
from model.alphabet import encode
from model.artifact import DEFAULT_ARTIFACT, load
from model.language_model import ARCHITECTURES
from tests.utils.server import REPO_ROOT
from training import baseline
from training.data import evaluation_splits, read_corpus

SHIPPED = REPO_ROOT / DEFAULT_ARTIFACT


def test_shipped_artifact_loads_and_follows_the_assignment_recipe() -> None:
    artifact = load(SHIPPED)
    manifest = artifact.manifest
    hyper = manifest["hyperparameters"]
    assert (manifest["format_version"], manifest["architecture"]) == (2, "rnn")
    assert (manifest["n_hidden"], artifact.context) == (400, 10)
    recipe_keys = ("samples", "epochs", "lr", "lr_segment", "lr_decay", "batch_size")
    assert {key: hyper[key] for key in recipe_keys} == {
        "samples": 5000,
        "epochs": 15,
        "lr": 0.001,
        "lr_segment": 5,
        "lr_decay": 0.5,
        "batch_size": 1,
    }
    assert len(manifest["history"]) == 15
    assert manifest["data"]["train"] == {"start": 10, "end": 5010}
    assert (SHIPPED / "training.png").is_file()


@pytest.fixture(scope="module")
def corpus_text(corpus: Path) -> str:
    text, digest = read_corpus(corpus)
    assert digest == load(SHIPPED).manifest["corpus_sha256"]
    return text


@pytest.mark.corpus
def test_shipped_metrics_are_recomputed_from_the_weights(corpus_text: str) -> None:
    artifact = load(SHIPPED)
    manifest = artifact.manifest
    indices = encode(corpus_text)
    splits = evaluation_splits(len(indices))
    assert manifest["data"]["validation"] == splits["validation"].as_dict()
    assert manifest["data"]["test"] == splits["test"].as_dict()
    for split in ("train", "validation", "test"):
        measured = evaluate(artifact.model, indices, Positions.from_dict(manifest["data"][split])).as_dict()
        recorded = manifest["metrics"][split]
        assert (recorded["accuracy"], recorded["samples"]) == (measured["accuracy"], measured["samples"])
        # float32 sums in another order (BLAS threads) move the last digits of the log-probabilities.
        assert recorded["bits_per_char"] == pytest.approx(measured["bits_per_char"], rel=1e-6), split
    assert manifest["metrics"]["train"]["samples"] == 5000
    # 5000 overlapping windows of one passage are memorised; unseen text is much harder.
    assert manifest["metrics"]["train"]["accuracy"] > 0.9
    assert 0.2 < manifest["metrics"]["test"]["accuracy"] < 0.5


@pytest.mark.corpus
@pytest.mark.slow
def test_shipped_baseline_and_sentence_are_the_n_grams(corpus_text: str) -> None:
    manifest = load(SHIPPED).manifest
    reference = baseline.on_splits(
        corpus_text, evaluation_splits(len(corpus_text)), manifest["baseline"]["order"]
    )
    assert manifest["baseline"]["order"] == baseline.DEFAULT_ORDER
    for split in ("validation", "test"):
        assert manifest["baseline"][split] == baseline.record(reference[split]), split
    test = evaluate(load(SHIPPED).model, encode(corpus_text), Positions.from_dict(manifest["data"]["test"]))
    assert manifest["sentence"] == sentence(ARCHITECTURES["rnn"].description, 10, test, reference["test"])
    # The assignment's model answers the assignment; the n-gram is far ahead on unseen text.
    assert manifest["baseline"]["test"]["accuracy"] > manifest["metrics"]["test"]["accuracy"] + 0.3
