"""POST /generate: a continuation, whole or streamed as Server-Sent Events.

Both forms iterate the one `service.generation.generate`, so they give the same characters.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response
from prometheus_client import Counter

from service.body import ThreadedBodyRoute
from service.deps import MetricsDep, ModelsDep
from service.generation import Event, Finish, Generated, GenerationRequest, Piece, Sampling, generate
from service.schemas import GenerateRequest, GenerateResponse, MessageResponse, ValidationErrorResponse
from service.served import ServedModel
from service.streaming import sse, sse_response_docs

router = APIRouter(
    tags=["prediction"],
    responses={
        404: {"model": MessageResponse, "description": "No model of that name is served"},
        422: {"model": ValidationErrorResponse},
        429: {"model": MessageResponse, "description": "The model's queue is full; see Retry-After"},
        503: {"model": MessageResponse, "description": "Waited past QUEUE_TIMEOUT_SECONDS, or draining"},
    },
    route_class=ThreadedBodyRoute,
)

GENERATE_EXAMPLES: dict[str, Any] = {
    "greedy": {"summary": "Greedy", "value": {"text": "harles dar", "n": 40, "temperature": 0}},
    "sampled": {
        "summary": "Sampled, reproducible",
        "value": {"text": "harles dar", "n": 40, "temperature": 0.8, "seed": 7},
    },
    "streamed": {
        "summary": "Streamed, with a stop sequence and logprobs",
        "value": {"text": "natural selec", "n": 200, "stop": [" the "], "logprobs": 2, "stream": True},
    },
}
STREAM_DOCS = sse_response_docs('The continuation; with "stream": true, Server-Sent Events (docs/api.md)')


@router.post(
    "/generate", response_model=GenerateResponse, response_model_exclude_none=True, responses=STREAM_DOCS
)
async def generate_text(
    body: Annotated[GenerateRequest, Body(openapi_examples=GENERATE_EXAMPLES)],
    request: Request,
    models: ModelsDep,
    metrics: MetricsDep,
) -> Response:
    """Continue a text by at most n characters, greedily (temperature 0) or by sampling."""
    served = models.get(body.model)
    window = await served.window_of(body.text)  # refuses a text without a letter before any work
    served.check_adapt(body.adapt)
    job = GenerationJob(served, body.text, generation_request(body), metrics.generated_chars, body.adapt)
    if body.stream:
        return await served.stream(request.receive, partial(_stream, job, window))
    answer = await served.admit(request.receive, _whole, job, window)
    return Response(answer.model_dump_json(exclude_none=True), media_type="application/json")


def generation_request(body: GenerateRequest) -> GenerationRequest:
    sampling = Sampling(body.temperature, body.sampling_top_k, body.top_p, body.seed)
    return GenerationRequest(body.n, sampling, tuple(body.stop or ()), body.logprobs)


@dataclass(frozen=True)
class GenerationJob:
    """One request's generation on one model, as every generation route runs it."""

    served: ServedModel
    text: str
    request: GenerationRequest
    generated_chars: Counter  # by model: every character computed, stop sequences included
    adapt: bool = False  # the text read adaptively, on a copy of the weights (model/dynamic.py)

    @property
    def with_logprobs(self) -> bool:
        return self.request.alternatives is not None

    def events(self, check: Callable[[int], None]) -> Iterator[Event]:
        """`generate` on the model's reader of the text, counting each character computed."""
        counter = self.generated_chars.labels(self.served.name)
        for event in generate(self.served.reader(self.text, self.adapt), self.request, check):
            counter.inc(len(event.chars) if isinstance(event, Piece) else event.steps - event.produced)
            yield event

    def run(self, check: Callable[[int], None]) -> tuple[list[Generated], Finish]:
        """Every character, then how it ended: the whole answer's form of `events`."""
        generated: list[Generated] = []
        for event in self.events(check):
            if isinstance(event, Finish):
                return generated, event
            generated.extend(event.chars)
        raise AssertionError("generate always ends with a Finish")


def logprob_items(chars: Sequence[Generated]) -> list[dict[str, Any]]:
    return [
        {"char": g.char, "logprob": g.logprob, "top": [{"char": c, "logprob": lp} for c, lp in g.top]}
        for g in chars
    ]


def _whole(job: GenerationJob, window: str, check: Callable[[int], None]) -> GenerateResponse:
    generated, finish = job.run(check)
    return GenerateResponse.model_validate(
        {
            "window": window,
            "continuation": "".join(g.char for g in generated),
            "finish_reason": finish.reason,
            "logprobs": logprob_items(generated) if job.with_logprobs else None,
        }
    )


def _stream(job: GenerationJob, window: str, check: Callable[[int], None]) -> Iterator[bytes]:
    for event in job.events(check):
        if isinstance(event, Piece):
            data: dict[str, Any] = {"text": event.text}
            if job.with_logprobs:
                data["logprobs"] = logprob_items(event.chars)
            yield sse(data)
        else:
            yield sse({"finish_reason": event.reason, "window": window, "generated_chars": event.produced})
