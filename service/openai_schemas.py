"""Bodies of the OpenAI-compatible endpoints (/v1), as OpenAI's legacy Completions API names them.

A token here is one character of the model's alphabet (space and a-z): `max_tokens` is a
number of characters, `logprobs` lists characters, and `usage` counts characters.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from service.schemas import (
    MAX_GENERATE,
    MAX_STOPS,
    TEXT_DESCRIPTION,
    Logprobs,
    Seed,
    StopSequence,
    Temperature,
    TopP,
    check_temperature,
)

OWNED_BY = "char-rnn-service"


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    include_usage: bool = Field(False, description="Send one more chunk, with `usage`, before [DONE].")


class CompletionRequest(BaseModel):
    """POST /v1/completions. Unknown fields are refused, as OpenAI refuses them."""

    model_config = ConfigDict(extra="forbid", strict=True)

    model: str | None = Field(None, description="A model of GET /v1/models; without it, the default model.")
    prompt: Annotated[str, Field(min_length=1, description=TEXT_DESCRIPTION)]
    max_tokens: int = Field(
        16, ge=1, le=MAX_GENERATE, description="Most characters to generate (a token is one character)."
    )
    temperature: Temperature = 1.0
    top_p: TopP = 1.0
    seed: Seed = None
    stop: StopSequence | list[StopSequence] | None = Field(
        None, description=f"A string or up to {MAX_STOPS}; generation ends where one is generated."
    )
    logprobs: Logprobs = None
    echo: bool = Field(False, description="Answer the prompt, as sent, before the completion.")
    stream: bool = Field(
        False, description="Answer Server-Sent Events: `data: {chunk}`, then `data: [DONE]`."
    )
    stream_options: StreamOptions | None = None
    n: int = Field(1, ge=1, le=1, description="Choices per prompt: only 1.")
    user: str | None = Field(None, max_length=256, description="Accepted and ignored.")

    _not_vanishing = field_validator("temperature")(check_temperature)

    @field_validator("stop")
    @classmethod
    def _few_stops(cls, value: str | list[str] | None) -> str | list[str] | None:
        if isinstance(value, list) and len(value) > MAX_STOPS:
            raise ValueError(f"at most {MAX_STOPS} stop sequences")
        return value

    @property
    def stops(self) -> tuple[str, ...]:
        if self.stop is None:
            return ()
        return (self.stop,) if isinstance(self.stop, str) else tuple(self.stop)


class CompletionLogprobs(BaseModel):
    tokens: list[str] = Field(description="The generated characters.")
    token_logprobs: list[float] = Field(description="Natural log of the model's probability of each.")
    top_logprobs: list[dict[str, float]] = Field(
        description="The `logprobs` most probable characters at each."
    )
    text_offset: list[int] = Field(description="Where each character is in `text`.")


class CompletionChoice(BaseModel):
    text: str
    index: int = 0
    logprobs: CompletionLogprobs | None = None
    finish_reason: Literal["length", "stop"] | None = Field(
        description="length: max_tokens characters; stop: a stop sequence. "
        "Null in a stream's chunks but the last."
    )


class Usage(BaseModel):
    prompt_tokens: int = Field(description="Characters of the simplified prompt.")
    completion_tokens: int = Field(description="Characters generated and answered.")
    total_tokens: int


class Completion(BaseModel):
    """A completion, or one chunk of a streamed one (the same shape, as OpenAI sends)."""

    id: str = Field(description="cmpl- and the request's X-Request-ID.")
    object: Literal["text_completion"] = "text_completion"
    created: int
    model: str
    choices: list[CompletionChoice]
    usage: Usage | None = None


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int = Field(description="When the artifact was trained (Unix time); 0 if unrecorded.")
    owned_by: str = OWNED_BY


class ModelCardList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


class OpenAIError(BaseModel):
    message: str
    type: str
    param: str | None = None
    code: str | None = None


class OpenAIErrorResponse(BaseModel):
    error: OpenAIError
