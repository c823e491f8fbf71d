"""HEAD answers as GET without the body; a POST-only route still says 405."""

from __future__ import annotations

import pytest

from tests.utils.client import ASGIClient


@pytest.mark.parametrize("path", ["/health", "/health/live", "/model", "/accuracy", "/metrics"])
def test_head_on_a_get_route_is_its_headers_without_the_body(client: ASGIClient, path: str) -> None:
    head = client.request("HEAD", path)
    get = client.get(path)
    assert (head.status_code, head.content) == (200, b"")
    assert head.headers["content-type"] == get.headers["content-type"]
    if path != "/metrics":  # its counters move between the two requests
        assert head.headers["content-length"] == get.headers["content-length"] == str(len(get.content))


def test_head_on_a_post_route_is_405(client: ASGIClient) -> None:
    response = client.request("HEAD", "/predict-next")
    assert (response.status_code, response.content, response.headers["allow"]) == (405, b"", "POST")
