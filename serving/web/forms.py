"""Reading the pages' forms: known fields only, each once, and the CSRF token checked."""

from __future__ import annotations

from fastapi import HTTPException, Request
from starlette.datastructures import UploadFile

from serving.errors import field_error
from serving.web.session import CSRF_FIELD, tokens_match

CSRF_REFUSED = "missing or wrong CSRF token; reload the page and send the form again"
# Form bodies are a few fields of text; the app's body limit bounds them anyway.
MAX_FORM_FIELDS = 16


async def read_form(request: Request, fields: frozenset[str]) -> dict[str, str]:
    """The urlencoded form's fields as text, ``CSRF_FIELD`` included when sent.

    Raises HTTPException 422 naming each field the form does not take (``fields`` plus
    ``CSRF_FIELD``), each field sent twice and each file upload, so nothing sent is ignored.
    """
    form = await request.form(max_files=0, max_fields=MAX_FORM_FIELDS)
    allowed = fields | {CSRF_FIELD}
    errors = []
    values: dict[str, str] = {}
    for name, value in form.multi_items():
        if name not in allowed:
            errors.append(field_error(name, "unknown form field", "unknown_field"))
        elif name in values:
            errors.append(field_error(name, "sent more than once", "duplicate_field"))
        elif isinstance(value, UploadFile):
            errors.append(field_error(name, "must be text, not a file", "string_type"))
        else:
            values[name] = value
    if errors:
        raise HTTPException(422, errors)
    return values


def csrf_refused() -> HTTPException:
    """The one refusal of a form without the right CSRF token: 403, field ``csrf_token``."""
    return HTTPException(403, [field_error(CSRF_FIELD, CSRF_REFUSED, "csrf")])


def require_csrf(expected: str, form: dict[str, str]) -> None:
    """Raise ``csrf_refused()`` unless the form repeats the session's token ``expected``."""
    if not tokens_match(expected, form.get(CSRF_FIELD)):
        raise csrf_refused()
