"""An optional API key: with API_KEY (or API_KEY_FILE) set, requests need `Authorization: Bearer <key>`.

`require_api_key` is a dependency for a router (`include_router(..., dependencies=[API_KEY_REQUIRED])`):
service.app applies it to every router but the probes' (/health, /health/live, /health/ready,
/v2/health/*), /metrics and the demo page's static files, whose calls send the key themselves.
Keys are compared with hmac.compare_digest, in time independent of where they differ, and
never logged (Settings holds them as SecretStr). Without a key, every route is open.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

UNAUTHORIZED = "Missing or wrong API key: send the header Authorization: Bearer <key> (API_KEY)"
# Parses the header and declares the scheme in OpenAPI (Swagger UI's Authorize button);
# auto_error=False so that the answer is the service's own 401, in the usual error shape.
bearer = HTTPBearer(auto_error=False, description="The API_KEY, when the server sets one")
BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


async def require_api_key(request: Request, credentials: BearerDep) -> None:
    """401 with WWW-Authenticate unless the server has no key or the request sends it."""
    expected: bytes | None = request.app.state.api_key
    if expected is None:
        return
    given = credentials.credentials.encode() if credentials is not None else b""
    if not hmac.compare_digest(given, expected):
        raise HTTPException(status_code=401, detail=UNAUTHORIZED, headers={"WWW-Authenticate": "Bearer"})


API_KEY_REQUIRED = Depends(require_api_key)
