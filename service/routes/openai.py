"""OpenAI-compatible endpoints: GET /v1/models and POST /v1/completions (legacy Completions).

Completions run the same GenerationJob as /generate (service.routes.generate), so a request
gives the same characters and logprobs here as there. Errors under /v1 take OpenAI's shape
(service.errors).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response

from model.alphabet import simplify
from model.errors import ArgumentError
from service.body import ThreadedBodyRoute
from service.deps import MetricsDep, ModelsDep
from service.generation import Finish, Generated, GenerationRequest, Piece, Sampling
from service.openai_schemas import (
    Completion,
    CompletionChoice,
    CompletionLogprobs,
    CompletionRequest,
    ModelCard,
    ModelCardList,
    OpenAIErrorResponse,
    Usage,
)
from service.request_id import request_id_of
from service.routes.generate import GenerationJob
from service.streaming import sse, sse_response_docs

router = APIRouter(
    prefix="/v1",
    tags=["openai"],
    responses={
        400: {
            "model": OpenAIErrorResponse,
            "description": "An invalid request (OpenAI answers 400, not 422)",
        },
        404: {"model": OpenAIErrorResponse, "description": "No model of that name is served"},
        429: {"model": OpenAIErrorResponse, "description": "The model's queue is full; see Retry-After"},
        503: {"model": OpenAIErrorResponse, "description": "Waited past QUEUE_TIMEOUT_SECONDS, or draining"},
    },
    route_class=ThreadedBodyRoute,
)

COMPLETION_EXAMPLES: dict[str, Any] = {
    "plain": {"summary": "Greedy", "value": {"prompt": "harles dar", "max_tokens": 40, "temperature": 0}},
    "sampled": {
        "summary": "Sampled, with logprobs",
        "value": {"prompt": "natural selec", "max_tokens": 40, "temperature": 0.8, "seed": 7, "logprobs": 2},
    },
}


@router.get("/models")
async def list_openai_models(models: ModelsDep) -> ModelCardList:
    """Every model served, as OpenAI lists models."""
    return ModelCardList(
        data=[ModelCard(id=info.name, created=_created(info.created_at)) for info in models.infos()]
    )


@router.post(
    "/completions",
    response_model=Completion,
    responses=sse_response_docs('The completion; with "stream": true, its chunks as events, then [DONE]'),
)
async def create_completion(
    body: Annotated[CompletionRequest, Body(openapi_examples=COMPLETION_EXAMPLES)],
    request: Request,
    models: ModelsDep,
    metrics: MetricsDep,
) -> Response:
    """Continue a prompt by at most max_tokens characters (a token is one character)."""
    if body.echo and body.logprobs is not None:
        raise ArgumentError(
            ("echo",), "echo with logprobs is not supported: the prompt's logprobs are not computed"
        )
    served = models.get(body.model)
    try:
        await served.window_of(body.prompt)  # refuses a prompt without a letter before any work
    except ArgumentError as error:
        raise ArgumentError(("prompt", *error.path[1:]), error.message, error.kind) from None
    sampling = Sampling(body.temperature, None, body.top_p, body.seed)
    job = GenerationJob(
        served,
        body.prompt,
        GenerationRequest(body.max_tokens, sampling, body.stops, body.logprobs),
        metrics.generated_chars,
    )
    head = Completion(
        id=f"cmpl-{request_id_of(request.scope) or '-'}",
        created=int(time.time()),
        model=served.name,
        choices=[],
    )
    if body.stream:
        return await served.stream(request.receive, partial(_chunks, job, body, head))
    completion = await served.admit(request.receive, _whole, job, body, head)
    return Response(completion.model_dump_json(), media_type="application/json")


def _whole(
    job: GenerationJob, body: CompletionRequest, head: Completion, check: Callable[[int], None]
) -> Completion:
    generated, finish = job.run(check)
    prefix = body.prompt if body.echo else ""
    choice = CompletionChoice(
        text=prefix + "".join(g.char for g in generated),
        logprobs=_logprobs(generated, len(prefix)) if job.with_logprobs else None,
        finish_reason=finish.reason,
    )
    return head.model_copy(update={"choices": [choice], "usage": _usage(body.prompt, finish)})


def _chunks(
    job: GenerationJob, body: CompletionRequest, head: Completion, check: Callable[[int], None]
) -> Iterator[bytes]:
    offset = 0
    if body.echo:
        yield _chunk(head, CompletionChoice(text=body.prompt, finish_reason=None))
        offset = len(body.prompt)
    for event in job.events(check):
        if isinstance(event, Piece):
            logprobs = _logprobs(event.chars, offset) if job.with_logprobs else None
            yield _chunk(head, CompletionChoice(text=event.text, logprobs=logprobs, finish_reason=None))
            offset += len(event.chars)
        else:
            yield _chunk(head, CompletionChoice(text="", finish_reason=event.reason))
            if body.stream_options is not None and body.stream_options.include_usage:
                yield sse(
                    head.model_copy(update={"usage": _usage(body.prompt, event)}).model_dump(mode="json")
                )
    yield sse("[DONE]")


def _chunk(head: Completion, choice: CompletionChoice) -> bytes:
    return sse(head.model_copy(update={"choices": [choice]}).model_dump(mode="json"))


def _logprobs(chars: Sequence[Generated], offset: int) -> CompletionLogprobs:
    return CompletionLogprobs(
        tokens=[g.char for g in chars],
        token_logprobs=[g.logprob for g in chars],
        top_logprobs=[dict(g.top) for g in chars],
        text_offset=list(range(offset, offset + len(chars))),
    )


def _usage(prompt: str, finish: Finish) -> Usage:
    prompt_chars = len(simplify(prompt))
    return Usage(
        prompt_tokens=prompt_chars,
        completion_tokens=finish.produced,
        total_tokens=prompt_chars + finish.produced,
    )


def _created(created_at: str | None) -> int:
    if created_at is None:
        return 0
    try:
        return int(datetime.fromisoformat(created_at).timestamp())
    except ValueError:
        return 0
