"""JSON bodies for hot routes, serialized once by pydantic-core straight from plain dicts.

The hot routes (online scoring, stored scores) build plain dicts in the exact shape of their
declared ``response_model`` (which still documents them in OpenAPI, with examples) and return
them through ``json_response``. That skips FastAPI's second validation of a response the route
just built from typed values, and the thread hop it takes for it; the serializer is the same
pydantic-core one, so datetimes and floats read exactly as before.
"""

from __future__ import annotations

from typing import Any

import pydantic_core
from fastapi.responses import Response


class PrebuiltJSONResponse(Response):
    """``application/json`` with a body serialized by pydantic-core (datetimes as ISO 8601)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return pydantic_core.to_json(content)


def json_response(content: Any, *, status_code: int = 200) -> Response:
    """A JSON response for ``content`` (dicts, lists, str, numbers, datetimes, None)."""
    return PrebuiltJSONResponse(content, status_code=status_code)
