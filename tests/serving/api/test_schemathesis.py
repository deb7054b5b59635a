"""Schemathesis over every route and every role, in process against the app's ASGI interface.

Cases are generated from the served OpenAPI document (bounded: ``EXAMPLES`` per operation and
caller, derandomized so that CI sees the same cases every run). Each answer must not be a
server error, must use a status and content type the document declares, and its body and
headers must match the declared schema. Schema-violating cases are sent too, but
schemathesis' "negative data is rejected" check is not run: by design a bad entity inside a
scoring batch is answered 200 with a per-entity error (the rest is scored). The stores hold
two published runs, so that reads and lists answer with data as well as with 404s.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from serving.api.services import Services
from tests.serving.api.test_stored_scores import scored  # noqa: F401  (fixture)
from tests.serving.appkit import auth

# Caller -> role ("none": no key). Callers a route refuses get a few cases only: the gate
# answers before anything else is read, so more would test the same branch again.
CALLERS = {"crm": "crm", "admin": "admin", "rep0": "rep", None: "none"}
EXAMPLES = 6
REFUSED_EXAMPLES = 2
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def _run(operation: Any, headers: dict[str, str], mode: Any, examples: int) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    def check(case: Any) -> None:
        case.call_and_validate(headers=headers, checks=CHECKS)

    check()


def test_every_route_and_role_conforms(
    client: TestClient,
    keys: dict[str, str],
    scored: Services,  # noqa: F811
) -> None:
    from schemathesis import GenerationMode

    schema = schemathesis.openapi.from_asgi("/v1/openapi.json", client.app)
    operations = [result.ok() for result in schema.get_all_operations()]
    paths = client.get("/v1/openapi.json").json()["paths"]
    assert len(operations) == sum(len(methods) for methods in paths.values())
    for operation in operations:
        spec = paths[operation.path][operation.method.lower()]
        allowed = set(spec.get("x-roles", CALLERS.values()))
        has_input = bool(spec.get("parameters") or spec.get("requestBody"))
        for caller, role in CALLERS.items():
            headers = auth(keys[caller]) if caller else {}
            if role not in allowed:
                _run(operation, headers, GenerationMode.POSITIVE, REFUSED_EXAMPLES)
                continue
            _run(operation, headers, GenerationMode.POSITIVE, EXAMPLES)
            if has_input:
                _run(operation, headers, GenerationMode.NEGATIVE, EXAMPLES)
