"""service.generation on its own: sampling, stop sequences, logprobs and the Reader calls."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray

from model.alphabet import ALPHABET, ALPHABET_SIZE, encode
from model.artifact import Artifact
from model.language_model import softmax
from service.generation import (
    LOGPROB_FLOOR,
    Event,
    Finish,
    GenerationRequest,
    Piece,
    Sampling,
    WindowReader,
    choose,
    generate,
)
from service.served import ServedModel


class ScriptedReader:
    """A Reader whose distribution puts almost all mass on the next character of `script`."""

    def __init__(self, script: str) -> None:
        self.script = script
        self.read = ""
        self.calls = 0

    def probabilities(self) -> NDArray[np.float64]:
        self.calls += 1
        p = np.full(ALPHABET_SIZE, 0.001)
        p[ALPHABET.index(self.script[len(self.read) % len(self.script)])] = 1.0
        result: NDArray[np.float64] = p / p.sum()
        return result

    def feed(self, index: int) -> None:
        self.read += ALPHABET[index]


def text_of(events: list[Event]) -> str:
    return "".join(event.text for event in events if isinstance(event, Piece))


def test_greedy_generation_reads_each_character_it_generates_but_the_last() -> None:
    reader = ScriptedReader("abc")
    events = list(generate(reader, GenerationRequest(7)))
    assert text_of(events) == "abcabca"
    assert events[-1] == Finish("length", 7, 7)
    assert (reader.calls, reader.read) == (7, "abcabc")


@pytest.mark.parametrize(
    ("stops", "text", "finish"),
    [
        (("ca",), "ab", Finish("stop", 2, 4)),
        (("x", "bc"), "a", Finish("stop", 1, 3)),
        (("abd",), "abcabcabca", Finish("length", 10, 10)),
        (("a",), "", Finish("stop", 0, 1)),
        (("cab", "bca"), "a", Finish("stop", 1, 4)),  # the first match in the text wins
        (("?",), "abcabcabca", Finish("length", 10, 10)),  # never generated
    ],
)
def test_stop_sequences_end_generation_and_are_left_out(
    stops: tuple[str, ...], text: str, finish: Finish
) -> None:
    events = list(generate(ScriptedReader("abc"), GenerationRequest(10, stop=stops)))
    assert (text_of(events), events[-1]) == (text, finish)


def test_characters_that_may_begin_a_stop_sequence_are_held_back_then_released_together() -> None:
    events = list(generate(ScriptedReader("abc"), GenerationRequest(6, stop=("abd",))))
    pieces = [event.text for event in events if isinstance(event, Piece)]
    assert pieces == ["abc", "abc"]


def test_logprobs_are_the_models_log_probabilities_with_the_most_probable_alternatives() -> None:
    reader = ScriptedReader("ab")
    expected = np.log(reader.probabilities())
    events = list(generate(ScriptedReader("ab"), GenerationRequest(1, alternatives=3)))
    generated = events[0].chars[0] if isinstance(events[0], Piece) else None
    assert generated is not None
    assert (generated.char, generated.logprob) == ("a", float(expected[1]))
    assert generated.top == (("a", float(expected[1])), (" ", float(expected[0])), ("b", float(expected[2])))


def test_a_probability_of_zero_has_the_floor_logprob() -> None:
    class Certain(ScriptedReader):
        def probabilities(self) -> NDArray[np.float64]:
            p = np.zeros(ALPHABET_SIZE)
            p[1] = 1.0
            return p

    events = list(generate(Certain("a"), GenerationRequest(1, alternatives=2)))
    assert isinstance(events[0], Piece)
    assert events[0].chars[0].top == (("a", 0.0), (" ", LOGPROB_FLOOR))


def test_sampling_is_numpy_choice_over_the_tempered_distribution() -> None:
    p = softmax(np.linspace(-2, 2, ALPHABET_SIZE))
    for seed in range(5):
        got = choose(p, Sampling(0.7, seed=seed), np.random.default_rng(seed))
        expected = np.random.default_rng(seed).choice(ALPHABET_SIZE, p=softmax(np.log(p) / 0.7))
        assert got == expected


def test_top_k_and_top_p_sample_only_among_the_most_probable() -> None:
    p = softmax(np.linspace(0, 12, ALPHABET_SIZE))  # z is the most probable, then y
    rng = np.random.default_rng(0)
    top3 = {choose(p, Sampling(1.0, top_k=3), rng) for _ in range(300)}
    assert top3 == {24, 25, 26}
    # The two most probable hold more than half of the mass, the most probable less.
    assert p[26] < 0.5 < p[26] + p[25]
    nucleus = {choose(p, Sampling(1.0, top_p=0.5), rng) for _ in range(300)}
    assert nucleus == {25, 26}
    assert {choose(p, Sampling(1.0, top_p=1e-9), rng) for _ in range(20)} == {26}
    assert choose(p, Sampling(0.0, top_k=3, top_p=0.1, seed=3), rng) == 26


def test_check_runs_before_every_step_and_may_stop_the_work() -> None:
    done: list[int] = []

    def check(step: int) -> None:
        done.append(step)
        if step == 3:
            raise RuntimeError("stop")

    reader = ScriptedReader("abc")
    with pytest.raises(RuntimeError):
        list(generate(reader, GenerationRequest(10), check))
    assert (done, reader.calls) == ([0, 1, 2, 3], 3)


def test_the_window_reader_answers_what_predict_next_would(artifact: Artifact) -> None:
    served = ServedModel(artifact, 1000)
    reader = served.reader("The Origin of Species")
    assert np.array_equal(reader.probabilities(), served.probabilities(["origin of species"[-10:]])[0])
    reader.feed(ALPHABET.index("x"))
    assert isinstance(reader, WindowReader) and reader.window == "f speciesx"
    assert np.array_equal(reader.probabilities(), served.probabilities([reader.window])[0])


def test_greedy_and_seeded_generation_match_the_models_own(artifact: Artifact) -> None:
    served = ServedModel(artifact, 1000)
    for sampling in (Sampling(), Sampling(0.8, seed=7)):
        events = list(generate(served.reader("natural selection"), GenerationRequest(60, sampling)))
        produced = artifact.model.generate(encode(" selection"), 60, sampling.temperature, sampling.seed)
        assert text_of(events) == "".join(ALPHABET[i] for i in produced)
