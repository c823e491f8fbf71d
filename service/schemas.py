"""Request and response bodies. Requests are strict: no coercion, no unknown fields."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from model.alphabet import ALPHABET_SIZE
from model.language_model import ARCHITECTURES

LSTM_MAX_SIZE = 256  # longest h or x vector /lstm/step accepts
# Largest |value| /lstm/step accepts: W v then sums at most 768 products of at most 1e12, far
# from float64 overflow, so every gate stays finite.
LSTM_MAX_ABS = 1e6
MAX_GENERATE = 1000
MIN_TEMPERATURE = 1e-3  # below this (except 0) z / temperature can overflow
MAX_TEMPERATURE = 100.0
MAX_SEED = 2**53 - 1  # the largest integer that every JSON parser keeps exact
MAX_STOPS = 4  # stop sequences per request (OpenAI's bound)
MAX_STOP_CHARS = 32
MAX_LOGPROBS = 5  # alternatives listed per generated character (OpenAI's bound)

TEXT_DESCRIPTION = (
    "Any text; it is simplified to the 27 symbols (lowercase a-z, every other run of characters "
    "becomes one space) before the model reads it. At most MAX_TEXT_CHARS characters."
)


class StrictBody(BaseModel):
    """Base of request bodies: strict types, unknown fields refused."""

    model_config = ConfigDict(extra="forbid", strict=True)


Text = Annotated[str, Field(min_length=1, description=TEXT_DESCRIPTION)]
ModelName = Annotated[
    str | None,
    Field(description="A model named by GET /models; without it, the default model."),
]
TopK = Annotated[
    int, Field(ge=1, le=ALPHABET_SIZE, description="How many of the most probable characters to list.")
]
FiniteFloat = Annotated[float, Field(allow_inf_nan=False, ge=-LSTM_MAX_ABS, le=LSTM_MAX_ABS)]
Vector = Annotated[list[FiniteFloat], Field(min_length=1, max_length=LSTM_MAX_SIZE)]
# fail_fast: one error per bad row, not one per bad number, so a 1 MB body of bad rows costs
# at most LSTM_MAX_SIZE errors per matrix.
MatrixRow = Annotated[list[FiniteFloat], Field(min_length=1, max_length=2 * LSTM_MAX_SIZE, fail_fast=True)]
Matrix = Annotated[list[MatrixRow], Field(min_length=1, max_length=LSTM_MAX_SIZE)]


Adapt = Annotated[
    bool,
    Field(
        description="Read the text adaptively (dynamic evaluation): the weights, a copy for this "
        "request alone, learn from each segment of the text once it has been predicted. Only a "
        "model that reads whole texts adapts; it costs about three times a static reading."
    ),
]


class PredictNextRequest(StrictBody):
    text: Text
    top_k: TopK = 5
    model: ModelName = None
    adapt: Adapt = False


class PredictBatchRequest(StrictBody):
    texts: list[Text] = Field(min_length=1, description="Up to MAX_BATCH texts (1000 by default).")
    top_k: TopK = 5
    model: ModelName = None


class CharProbability(BaseModel):
    model_config = ConfigDict(frozen=True)  # cached rankings are shared between requests

    char: str
    probability: float


# Real answers of the committed models (tests/test_docs_examples.py checks them): the prediction is
# char-rnn-assignment's, the assignment's RNN, for "harles dar" with top_k 2; the continuation is the
# default model's (darwin-lstm), for the same text with n 60.
PREDICTION_EXAMPLE_REQUEST: dict[str, Any] = {
    "text": "harles dar",
    "top_k": 2,
    "model": "char-rnn-assignment",
}
PREDICTION_EXAMPLE: dict[str, Any] = {
    "next_char": "i",
    "top": [
        {"char": "i", "probability": 0.9941635727882385},
        {"char": "a", "probability": 0.004022319335490465},
    ],
    "window": "harles dar",
}


GENERATION_EXAMPLE_REQUEST: dict[str, Any] = {"text": "harles dar", "n": 60}
GENERATION_EXAMPLE: dict[str, Any] = {
    "window": "harles dar",
    "continuation": "e the same species of the same genus and the common parent a",
    "finish_reason": "length",
}


class PredictNextResponse(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [PREDICTION_EXAMPLE]})

    next_char: str = Field(description="The most probable next character; equals top[0].char.")
    top: list[CharProbability] = Field(description="The top_k characters, most probable first.")
    window: str = Field(
        description="The simplified characters the model read: the whole text for a model that "
        "reads whole texts, else its last `context`."
    )


class PredictBatchResponse(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"predictions": [PREDICTION_EXAMPLE]}]})

    predictions: list[PredictNextResponse] = Field(description="One per text, in the request's order.")


StopSequence = Annotated[str, Field(min_length=1, max_length=MAX_STOP_CHARS)]
Temperature = Annotated[
    float,
    Field(
        ge=0.0,
        le=MAX_TEMPERATURE,
        allow_inf_nan=False,
        description=f"0 is greedy (argmax); otherwise {MIN_TEMPERATURE} to {MAX_TEMPERATURE}, "
        "sampling from softmax(log p / temperature).",
    ),
]
TopP = Annotated[
    float,
    Field(
        gt=0.0,
        le=1.0,
        allow_inf_nan=False,
        description="Nucleus sampling: sample among the fewest most probable characters whose "
        "probabilities (after temperature) sum to at least top_p. 1 keeps all.",
    ),
]
Seed = Annotated[int | None, Field(ge=0, le=MAX_SEED, description="Random seed for sampling.")]
Logprobs = Annotated[
    int | None,
    Field(
        ge=0,
        le=MAX_LOGPROBS,
        description="Log-probabilities (natural log, of the model's distribution) of each "
        "generated character, with this many of the most probable alternatives; null: none.",
    ),
]


def check_temperature(value: float) -> float:
    if 0.0 < value < MIN_TEMPERATURE:
        raise ValueError(f"must be 0 (greedy) or at least {MIN_TEMPERATURE}")
    return value


class GenerateRequest(StrictBody):
    text: Text
    n: int = Field(
        100,
        ge=1,
        le=MAX_GENERATE,
        description="Most characters to generate (a number of characters, not of choices as OpenAI's n).",
    )
    temperature: Temperature = 0.0
    sampling_top_k: int | None = Field(
        None,
        ge=1,
        le=ALPHABET_SIZE,
        description="Sample among this many most probable characters only (top_k of text-generation "
        "servers; /predict-next's top_k is a number of characters to list).",
    )
    top_p: TopP = 1.0
    seed: Seed = None
    stop: list[StopSequence] | None = Field(
        None,
        max_length=MAX_STOPS,
        description=f"Up to {MAX_STOPS} strings of 1 to {MAX_STOP_CHARS} characters: generation ends "
        "where the generated text first contains one, which is left out. Generated text holds only "
        "space and a-z, so a string with any other character never matches.",
    )
    logprobs: Logprobs = None
    stream: bool = Field(False, description="Answer Server-Sent Events, one per character or few.")
    model: ModelName = None
    adapt: Adapt = False

    _not_vanishing = field_validator("temperature")(check_temperature)


class CharLogprob(BaseModel):
    char: str
    logprob: float


class GeneratedChar(BaseModel):
    char: str
    logprob: float = Field(description="Natural log of the model's probability of this character.")
    top: list[CharLogprob] = Field(description="The most probable characters, as many as asked.")


class GenerateResponse(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [GENERATION_EXAMPLE]})

    window: str = Field(description="The simplified prompt characters the first prediction read.")
    continuation: str = Field(description="The generated characters, without a stop sequence.")
    finish_reason: Literal["length", "stop"] = Field(
        description="length: n characters were generated; stop: a stop sequence was."
    )
    logprobs: list[GeneratedChar] | None = Field(
        None, description="One per character of the continuation, when the request asks logprobs."
    )


class AccuracyRequest(StrictBody):
    text: Text
    model: ModelName = None
    details: bool = Field(
        False, description="Also answer, for each predicted position, the guess and its probability."
    )
    adapt: Adapt = False


class AccuracyDetails(BaseModel):
    text: str = Field(description="The simplified text whose characters were predicted.")
    start: int = Field(
        description="Position in `text` of the first predicted character: the one after the first letter."
    )
    predicted: str = Field(description="The model's guess for each of text[start:], in order.")
    probabilities: list[float] = Field(description="The probability the model gave each guess.")


class AccuracyResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"accuracy": 0.25, "bits_per_char": 3.2, "correct": 27, "total": 108}]
        }
    )

    accuracy: float = Field(description="correct / total, the share of positions ranked first.")
    bits_per_char: float = Field(
        description="The mean over the positions scored of -log2 of the probability the model gave "
        "the actual character."
    )
    correct: int
    total: int = Field(
        description="Positions scored: every character of the simplified text after its first "
        "letter, each predicted from the text before it as /predict-next answers that text (a "
        "model that reads windows reads the `context` characters before it)."
    )
    details: AccuracyDetails | None = Field(None, description='Present when the request asks "details".')


class SplitAccuracy(BaseModel):
    accuracy: float = Field(ge=0.0, le=1.0)
    # Absent, not null, where the manifest records none (the n-gram gives no probabilities).
    bits_per_char: float | None = Field(
        None,
        ge=0.0,
        description="Mean of -log2 of the probability given to the actual character.",
        exclude_if=lambda value: value is None,
    )
    samples: int = Field(ge=0, description="Positions scored.")


class NGramFigures(BaseModel):
    """One n-gram's figures on the same positions as the model."""

    method: str
    order: int = Field(ge=0, description="Longest context the n-gram reads.")
    validation: SplitAccuracy | None = None
    test: SplitAccuracy


class Baseline(NGramFigures):
    """The backoff n-gram the model is measured against, on the same positions, and the
    interpolated Kneser-Ney n-gram's figures with bits per character."""

    # Absent, not null, where the manifest records none (those written before it was measured).
    kneser_ney: NGramFigures | None = Field(None, exclude_if=lambda value: value is None)


class RecordedAccuracy(BaseModel):
    test: SplitAccuracy = Field(description="On the last tenth of the corpus, never trained on.")
    validation: SplitAccuracy | None = Field(
        None,
        description="On the text just before the test split; absent when the served weights were "
        "refitted on it (the manifest's refit section holds the figure that chose the epoch).",
    )
    train: SplitAccuracy | None = Field(None, description="On the positions the model trained on.")
    baseline: Baseline | None = Field(None, description="The n-gram's figures on the same positions.")
    sentence: str


class ModelInfo(BaseModel):
    name: str
    default: bool = Field(False, description="Whether requests that name no model get this one.")
    architecture: str = Field(description=f"One of {', '.join(sorted(ARCHITECTURES))}.")
    format_version: int
    alphabet: str
    n_in: int
    n_hidden: int
    n_out: int
    parameters: int = Field(description="Number of weights.")
    context: int = Field(
        description="Characters the model reads before each guess; 0: the whole text, from its "
        "first character, with the state carried."
    )
    hyperparameters: dict[str, Any]
    metrics: dict[str, SplitAccuracy]
    baseline: Baseline | None = None
    sentence: str | None = None
    weights_sha256: str
    corpus_sha256: str | None = None
    created_at: str | None = None
    code_version: str | None = None
    training_seconds: float | None = None


class ModelList(BaseModel):
    models: list[ModelInfo] = Field(description="Every model served, in name order.")


class HealthResponse(BaseModel):
    status: str


class LSTMWeights(StrictBody):
    W_f: Matrix
    b_f: Vector
    W_i: Matrix
    b_i: Vector
    W_o: Matrix
    b_o: Vector
    W_c: Matrix
    b_c: Vector


class LSTMStepRequest(StrictBody):
    x: Vector = Field(description="x_t, length X.")
    h: Vector | None = Field(
        None,
        description="h_{t-1}, length H; default [0.05] with the example weights, else zeros.",
    )
    c: Vector | None = Field(
        None,
        description="c_{t-1}, length H; default [-0.02] with the example weights, else zeros.",
    )
    weights: LSTMWeights | None = Field(
        None,
        description="Each W of shape (H, H + X) acting on [h_{t-1}; x_t]; default the assignment's example.",
    )


class LSTMStepResponse(BaseModel):
    f: list[float]
    i: list[float]
    o: list[float]
    c_tilde: list[float]
    c: list[float]
    h: list[float]


class ErrorItem(BaseModel):
    type: str
    loc: list[str | int]
    msg: str


class ValidationErrorResponse(BaseModel):
    detail: list[ErrorItem]
    request_id: str = Field(description="The request's X-Request-ID, as echoed in the response header")


class MessageResponse(BaseModel):
    detail: str
    request_id: str = Field(description="The request's X-Request-ID, as echoed in the response header")


class ReadinessResponse(BaseModel):
    status: Literal["ready", "starting", "draining"]
