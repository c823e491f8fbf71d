"""The Open Inference Protocol (KServe V2) for the next-character model: tensors in and out.

The infer request carries one BYTES input, the texts, shape [N]; the response carries a BYTES
output of next characters, shape [N], and an FP32 output of probabilities, shape [N, 27], in
alphabet order. Inputs come as JSON `data` or, as tritonclient sends them by default, in the
binary tensor extension: a JSON header of `Inference-Header-Content-Length` bytes followed by
each input's raw bytes (a BYTES element is a 4-byte little-endian length, then the bytes).

This module knows no HTTP: it raises ProtocolError with the message the route returns as
{"error": ...}.
"""

from __future__ import annotations

import json
import re
import struct
from typing import Annotated, Any

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from model.alphabet import ALPHABET, ALPHABET_SIZE
from model.names import clipped

INPUT_NAME = "text"
NEXT_CHAR_OUTPUT = "next_char"
PROBABILITIES_OUTPUT = "probabilities"
HEADER_LENGTH = "inference-header-content-length"
VERSION = "1"  # the one version of each model, as the metadata advertises it
MAX_ID_CHARS = 256  # a request's id comes back in its response, so it is bounded
LENGTH_DIGITS = re.compile(r"[0-9]{1,10}", re.ASCII)  # not str.isdigit: it accepts "\xb2"
Count = Annotated[int, Field(strict=True, ge=0)]  # not "1", true or 1.0


class ProtocolError(Exception):
    """A request the protocol cannot serve; the message says which part is wrong."""


class TensorMetadata(BaseModel):
    name: str
    datatype: str
    shape: list[int]


class ModelMetadata(BaseModel):
    name: str
    versions: list[str]
    platform: str
    inputs: list[TensorMetadata]
    outputs: list[TensorMetadata]


class RequestInput(BaseModel):
    model_config = ConfigDict(extra="allow")

    name: str
    shape: list[Count]
    datatype: str
    parameters: dict[str, Any] = Field(default_factory=dict)
    data: list[Any] | None = None


class InferenceRequest(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str | None = Field(None, max_length=MAX_ID_CHARS)
    parameters: dict[str, Any] = Field(default_factory=dict)
    inputs: list[RequestInput] = Field(min_length=1)
    outputs: list[dict[str, Any]] | None = None


class ResponseOutput(BaseModel):
    name: str
    shape: list[int]
    datatype: str
    data: list[Any]


class InferenceResponse(BaseModel):
    model_name: str
    model_version: str | None = None
    id: str | None = None
    outputs: list[ResponseOutput]


class ProtocolErrorResponse(BaseModel):
    error: str


def metadata(name: str) -> ModelMetadata:
    """GET /v2/models/{name}: the tensor names, types and shapes (-1: any batch size)."""
    return ModelMetadata(
        name=name,
        versions=[VERSION],
        platform="numpy-char-rnn",
        inputs=[TensorMetadata(name=INPUT_NAME, datatype="BYTES", shape=[-1])],
        outputs=[
            TensorMetadata(name=NEXT_CHAR_OUTPUT, datatype="BYTES", shape=[-1]),
            TensorMetadata(name=PROBABILITIES_OUTPUT, datatype="FP32", shape=[-1, ALPHABET_SIZE]),
        ],
    )


def parse_request(body: bytes, header_length: str | None) -> tuple[InferenceRequest, list[str]]:
    """The request and its texts, from JSON or from the binary tensor extension."""
    header, binary = body, b""
    if header_length is not None:
        if LENGTH_DIGITS.fullmatch(header_length) is None or int(header_length) > len(body):
            raise ProtocolError(
                f"Inference-Header-Content-Length must be a number of bytes from 0 to {len(body)}"
            )
        header, binary = body[: int(header_length)], body[int(header_length) :]
    try:
        request = InferenceRequest.model_validate_json(header)
    except ValidationError as error:
        first = error.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        raise ProtocolError(f"invalid inference request: {where}: {first['msg']}") from None
    return request, _texts(request, binary)


def _texts(request: InferenceRequest, binary: bytes) -> list[str]:
    if len(request.inputs) != 1 or request.inputs[0].name != INPUT_NAME:
        names = ", ".join(clipped(tensor.name) for tensor in request.inputs[:4])
        more = ", ..." if len(request.inputs) > 4 else ""
        raise ProtocolError(f"expected one input named {INPUT_NAME!r}, got [{names}{more}]")
    tensor = request.inputs[0]
    if tensor.datatype != "BYTES" or len(tensor.shape) != 1:
        raise ProtocolError(f"input {INPUT_NAME!r}: expected datatype BYTES and shape [N]")
    if "binary_data_size" in tensor.parameters:
        texts = _decode_bytes(binary[: _binary_size(tensor.parameters["binary_data_size"], len(binary))])
    elif tensor.data is not None and all(isinstance(text, str) for text in tensor.data):
        texts = list(tensor.data)
    else:
        raise ProtocolError(f"input {INPUT_NAME!r}: data must be a list of strings")
    if len(texts) != tensor.shape[0]:
        raise ProtocolError(f"input {INPUT_NAME!r}: shape [{tensor.shape[0]}] but {len(texts)} elements")
    return texts


def _binary_size(size: object, available: int) -> int:
    """binary_data_size, if it is a JSON integer that fits in the bytes after the header."""
    if isinstance(size, bool) or not isinstance(size, int) or not 0 <= size <= available:
        raise ProtocolError(
            f"input {INPUT_NAME!r}: parameters.binary_data_size must be an integer from 0 to the "
            f"{available} bytes after the JSON header"
        )
    return size


def _decode_bytes(raw: bytes) -> list[str]:
    """BYTES elements of the binary extension: each a uint32 little-endian length, then UTF-8."""
    texts, offset = [], 0
    while offset < len(raw):
        if offset + 4 > len(raw):
            raise ProtocolError(f"input {INPUT_NAME!r}: binary data ends inside an element's length")
        (length,) = struct.unpack_from("<I", raw, offset)
        element = raw[offset + 4 : offset + 4 + length]
        if len(element) != length:
            raise ProtocolError(f"input {INPUT_NAME!r}: binary data ends inside an element")
        try:
            texts.append(element.decode("utf-8"))
        except UnicodeDecodeError:
            raise ProtocolError(f"input {INPUT_NAME!r}: element {len(texts)} is not UTF-8") from None
        offset += 4 + length
    return texts


def response_body(name: str, request_id: str | None, probabilities: NDArray[np.float64]) -> bytes:
    """The infer response's JSON: next characters (ties in alphabet order) and FP32 probabilities."""
    count = probabilities.shape[0]
    order = np.argsort(-probabilities, axis=1, kind="stable")[:, 0]
    content = {
        "model_name": name,
        "model_version": VERSION,
        **({"id": request_id} if request_id is not None else {}),
        "outputs": [
            {
                "name": NEXT_CHAR_OUTPUT,
                "shape": [count],
                "datatype": "BYTES",
                "data": [ALPHABET[i] for i in order],
            },
            {
                "name": PROBABILITIES_OUTPUT,
                "shape": [count, ALPHABET_SIZE],
                "datatype": "FP32",
                "data": probabilities.astype(np.float32).ravel().tolist(),
            },
        ],
    }
    return json.dumps(content, separators=(",", ":")).encode()
