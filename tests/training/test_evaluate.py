"""`python -m training.evaluate` on a refitted artifact: the shipped weights' figures are
recomputed, the validation text they trained on is named as such with the n-gram beside it,
and a manifest that disagrees is flagged MISMATCH."""

from __future__ import annotations

import contextlib
import io
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from model import dynamic
from model.accuracy import Positions, evaluate_split
from model.alphabet import encode
from model.artifact import load
from tests.utils.attacks import edit_manifest, read_manifest
from tests.utils.tiny_training import CONFIG, SAMPLE
from training import baseline, kneser_ney, pipeline
from training import evaluate as evaluate_module

TEXT = SAMPLE * 8


@pytest.fixture(scope="module")
def refitted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("refitted")
    (directory / "corpus.txt").write_text(TEXT)
    config = replace(CONFIG, corpus=directory / "corpus.txt", out=directory / "out")
    with contextlib.redirect_stdout(io.StringIO()):
        pipeline.run(config, show_progress=False)
    return config.out


def run_evaluate(artifact: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    status = evaluate_module.main(
        ["--artifact", str(artifact), "--corpus", str(artifact.parent / "corpus.txt")]
    )
    return status, capsys.readouterr().out.splitlines()


def ngram(split: Positions) -> float:
    return baseline.evaluate(baseline.fit(TEXT[: split.start]), TEXT, split).accuracy


def kn(split: Positions) -> str:
    measured = kneser_ney.evaluate(kneser_ney.fit(encode(TEXT[: split.start]), 10), encode(TEXT), split)
    return f"; Kneser-Ney order-10 {measured.accuracy:.4f}, {measured.bits_per_char:.3f} bits/char"


def test_a_refitted_artifact_matches_and_names_the_text_it_trained_on(
    refitted: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, lines = run_evaluate(refitted, capsys)
    assert status == 0
    manifest = load(refitted).manifest
    test, validation = Positions(1304, 1448), Positions(1232, 1304)
    model = load(refitted).model
    measured = evaluate_split(model, encode(TEXT), test)
    adaptive = evaluate_split(model, encode(TEXT), test, None, dynamic.evaluate_adaptive)
    chosen = manifest["refit"]["validation_before_refit"]
    assert lines == [
        f"out test: accuracy {measured.accuracy:.4f}, {measured.bits_per_char:.3f} bits/char on 144 "
        f"positions; order-10 n-gram {ngram(test):.4f} on the same positions{kn(test)}",
        "out test, adaptive (dynamic evaluation, segments of 64, learning rate 0.5, E x4.0): accuracy "
        f"{adaptive.accuracy:.4f}, {adaptive.bits_per_char:.3f} bits/char on 144 positions",
        f"out validation: trained on by these weights, not measured; the epoch-3 model chosen before "
        f"the refit: accuracy {chosen['accuracy']:.4f}, {chosen['bits_per_char']:.3f} bits/char on 72 "
        f"positions (recorded: its weights are not shipped); order-10 n-gram {ngram(validation):.4f} "
        f"on the same positions{kn(validation)}",
    ]


def test_a_refitted_manifest_that_disagrees_is_flagged(
    refitted: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    edited = shutil.copytree(refitted, tmp_path / "out")
    shutil.copy(refitted.parent / "corpus.txt", tmp_path / "corpus.txt")
    manifest = read_manifest(refitted)
    wrong_ngram = {**manifest["baseline"], "validation": {"accuracy": 0.5, "samples": 72}}
    wrong_test = {"test": {**manifest["metrics"]["test"], "accuracy": 0.5}}
    edit_manifest(edited, baseline=wrong_ngram, metrics=wrong_test)
    status, lines = run_evaluate(edited, capsys)
    assert status == 1
    assert lines[0].startswith("MISMATCH out test: accuracy ")
    assert lines[0].endswith(f"(manifest: {wrong_test['test']})")
    assert not lines[1].startswith("MISMATCH")  # the adaptive figure was left as measured
    assert lines[2].startswith("MISMATCH out validation: trained on by these weights, not measured")
    assert lines[2].endswith("(manifest n-gram: {'accuracy': 0.5, 'samples': 72})")


def test_a_wrong_adaptive_figure_is_flagged(
    refitted: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    edited = shutil.copytree(refitted, tmp_path / "out")
    shutil.copy(refitted.parent / "corpus.txt", tmp_path / "corpus.txt")
    adaptive = read_manifest(refitted)["adaptive"]
    wrong = {**adaptive["metrics"]["test"], "bits_per_char": 0.5}
    edit_manifest(edited, adaptive={**adaptive, "metrics": {"test": wrong}})
    status, lines = run_evaluate(edited, capsys)
    assert status == 1
    assert lines[1].startswith("MISMATCH out test, adaptive (dynamic evaluation, segments of 64")
    assert lines[1].endswith(f"(manifest: {wrong})")


def test_a_wrong_kneser_ney_figure_is_flagged(
    refitted: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    edited = shutil.copytree(refitted, tmp_path / "out")
    shutil.copy(refitted.parent / "corpus.txt", tmp_path / "corpus.txt")
    manifest = read_manifest(refitted)
    wrong = {"accuracy": 0.5, "bits_per_char": 1.0, "samples": 144}
    kneser_ney_figures = {**manifest["baseline"]["kneser_ney"], "test": wrong}
    edit_manifest(edited, baseline={**manifest["baseline"], "kneser_ney": kneser_ney_figures})
    status, lines = run_evaluate(edited, capsys)
    assert status == 1
    assert lines[0].startswith("MISMATCH out test: accuracy ")
    assert lines[0].endswith(f"(manifest Kneser-Ney: {wrong})")
    assert not lines[1].startswith("MISMATCH")


def test_a_manifest_without_kneser_ney_figures_gets_them_computed(
    refitted: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    edited = shutil.copytree(refitted, tmp_path / "out")
    shutil.copy(refitted.parent / "corpus.txt", tmp_path / "corpus.txt")
    manifest = read_manifest(refitted)
    older = {key: value for key, value in manifest["baseline"].items() if key != "kneser_ney"}
    edit_manifest(edited, baseline=older)
    status, lines = run_evaluate(edited, capsys)
    assert status == 0
    assert lines[0].endswith(kn(Positions(1304, 1448)))
