"""Hypothesis on raw /v2 infer requests: bytes, JSON of any shape, near-valid tensors with
hostile fields and headers. None reaches a 500; every refusal is in the protocol's shape.
Bounded: a fixed number of examples, derandomised."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from model.artifact import Artifact
from tests.utils.client import ASGIClient

EXAMPLES = 400
FUZZ = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
CONTENT_TYPES = st.sampled_from(
    [None, "application/json", "application/octet-stream", "text/plain", "application/x-www-form-urlencoded"]
)
HEADER_LENGTHS = (
    st.none() | st.text(st.characters(max_codepoint=255), max_size=12) | st.integers(-5, 500).map(str)
)
TENSORS = st.fixed_dictionaries(
    {"name": st.sampled_from(["text", "x"]) | st.text(max_size=5)},
    optional={
        "shape": st.lists(JSON_VALUES, max_size=3) | JSON_VALUES,
        "datatype": st.sampled_from(["BYTES", "FP32"]) | JSON_VALUES,
        "data": st.lists(st.text(max_size=30) | JSON_VALUES, max_size=4) | JSON_VALUES,
        "parameters": st.fixed_dictionaries({"binary_data_size": JSON_VALUES}) | JSON_VALUES,
    },
)
REQUESTS = st.fixed_dictionaries(
    {"inputs": st.lists(TENSORS, max_size=3) | JSON_VALUES},
    optional={"id": JSON_VALUES, "parameters": JSON_VALUES, "outputs": JSON_VALUES},
)
BODIES = (
    st.binary(max_size=300)
    | JSON_VALUES.map(json.dumps).map(str.encode)
    | REQUESTS.map(lambda request: json.dumps(request).encode())
)


@FUZZ
@given(body=BODIES, binary=st.binary(max_size=40), content_type=CONTENT_TYPES, header_length=HEADER_LENGTHS)
def test_no_raw_infer_request_reaches_a_500(
    client: ASGIClient,
    artifact: Artifact,
    body: bytes,
    binary: bytes,
    content_type: str | None,
    header_length: str | None,
) -> None:
    headers: dict[str, Any] = {}
    if content_type is not None:
        headers["content-type"] = content_type
    if header_length is not None:
        headers["inference-header-content-length"] = header_length.strip().encode("latin-1") or b"0"
    for path in (f"/v2/models/{artifact.name}/infer", f"/v2/models/{artifact.name}/versions/1/infer"):
        response = client.post(path, content=body + binary, headers=headers)
        assert response.status_code < 500, response.text
        if response.status_code != 200:
            assert set(response.json()) == {"error"}, (path, response.text)
