"""Schemathesis against the app's own OpenAPI schema: generated requests, valid and
invalid, never get a 5xx, and every answer conforms to the schema (status code, content type,
body, Allow header). Bounded: a fixed number of examples per operation, derandomised.

One check is left out: positive_data_acceptance, which expects every schema-valid body to be
accepted. Some constraints are semantic and beyond JSON Schema (a text must contain a letter,
POST /accuracy needs a character after a letter, LSTM vectors must agree in size, a model name
must be served); those bodies get a documented 422 naming the field, or a documented 404, which
the other checks verify against the schema.
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import positive_data_acceptance

from model.artifact import DEFAULT_ARTIFACT
from service.app import create_app
from tests.utils.client import ExplicitSettings
from tests.utils.server import REPO_ROOT

SHIPPED = REPO_ROOT / DEFAULT_ARTIFACT
EXAMPLES_PER_OPERATION = 150

# Limits small enough that a body breaking maxLength or maxItems (which the schema takes from
# these settings) stays under MAX_BODY_BYTES: it must get a 422, not a 413.
app = create_app(ExplicitSettings(CHAR_RNN_ARTIFACT=SHIPPED, MAX_TEXT_CHARS=300, MAX_BATCH=20))
schema = schemathesis.openapi.from_asgi("/openapi.json", app)


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_no_server_error_and_no_schema_violation(case: schemathesis.Case) -> None:
    response = case.call_and_validate(excluded_checks=[positive_data_acceptance])
    assert response.status_code < 500
