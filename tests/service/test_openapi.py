"""The OpenAPI document: operation ids, the settings' limits, examples, and offline /docs."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable

import pytest

from service.schemas import AccuracyResponse, GenerateResponse, PredictBatchResponse, PredictNextResponse
from tests.utils.client import ASGIClient


def test_operation_ids_are_the_handlers_names(client: ASGIClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    ids = [operation["operationId"] for operations in paths.values() for operation in operations.values()]
    assert len(ids) == len(set(ids))
    assert paths["/predict-next"]["post"]["operationId"] == "predict_next"
    assert paths["/predict-next/batch"]["post"]["operationId"] == "predict_next_batch"
    assert paths["/v2/models/{name}/infer"]["post"]["operationId"] == "infer"


def test_limits_come_from_the_settings(make_client: Callable[..., ASGIClient]) -> None:
    schemas = (
        make_client(MAX_TEXT_CHARS=500, MAX_BATCH=7).get("/openapi.json").json()["components"]["schemas"]
    )
    for name in ("PredictNextRequest", "GenerateRequest", "AccuracyRequest"):
        assert schemas[name]["properties"]["text"]["maxLength"] == 500, name
    texts = schemas["PredictBatchRequest"]["properties"]["texts"]
    assert (texts["maxItems"], texts["items"]["maxLength"]) == (7, 500)


def test_body_errors_are_listed_on_routes_with_a_body_only(client: ASGIClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path, operations in paths.items():
        if "get" in operations:
            assert not {"400", "413"} & set(operations["get"]["responses"]), path
    assert {"400", "413"} <= set(paths["/predict-next"]["post"]["responses"])


def test_responses_carry_examples_that_validate(client: ASGIClient) -> None:
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    for model in (PredictNextResponse, PredictBatchResponse, GenerateResponse, AccuracyResponse):
        examples = schemas[model.__name__]["examples"]
        assert examples, model.__name__
        for example in examples:
            model.model_validate(example, strict=True)


def test_docs_load_only_local_assets_and_they_are_served(client: ASGIClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    urls = re.findall(r"""(?:src|href)=["']([^"']+)["']""", page.text)
    urls += re.findall(r"""url: ?["']([^"']+)["']""", page.text)
    assert not [url for url in urls if "://" in url or url.startswith("//")]
    assert {"/docs/assets/swagger-ui-bundle.js", "/docs/assets/swagger-ui.css", "/openapi.json"} <= set(urls)
    for url in urls:
        assert client.get(url).status_code == 200, url


def test_docs_send_a_csp_that_allows_exactly_their_inline_script_and_forbid_framing(
    client: ASGIClient,
) -> None:
    page = client.get("/docs")
    policy = page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy and "default-src 'self'" in policy
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["x-content-type-options"] == "nosniff"
    inline = re.findall(r"<script>(.*?)</script>", page.text, re.DOTALL)
    assert len(inline) == 1
    digest = base64.b64encode(hashlib.sha256(inline[0].encode()).digest()).decode()
    assert f"script-src 'self' 'sha256-{digest}'" in policy
    asset = client.get("/docs/assets/swagger-ui-bundle.js")
    assert asset.headers["x-frame-options"] == "DENY" and asset.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    "name",
    ["index.html", "swagger-ui-bundle.js.map", "swagger-ui.css.map", "oauth2-redirect.html", "index.j2"],
)
def test_only_the_assets_docs_need_are_served(client: ASGIClient, name: str) -> None:
    response = client.get(f"/docs/assets/{name}")
    assert (response.status_code, response.json()["detail"]) == (404, "Not Found")


def test_the_trailing_slash_redirect_does_not_reflect_the_host(client: ASGIClient) -> None:
    response = client.get("/docs/", headers={"host": "evil.example"}, follow_redirects=False)
    assert response.status_code in (307, 404)
    assert "evil.example" not in response.headers.get("location", "")
    assert "evil.example" not in response.text
