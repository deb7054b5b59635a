"""Reading the pages' forms: known fields only, each once, valid UTF-8, CSRF checked.

The pages post ``application/x-www-form-urlencoded`` forms of a few text fields. They are
parsed here with the standard library's ``urllib.parse`` and strict UTF-8 decoding, rather than
through a multipart parser, so that bytes that are not UTF-8 are a 422 naming the field instead
of being replaced by U+FFFD and stored.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, unquote_plus

from fastapi import HTTPException, Request

from serving.api.errors import field_error
from serving.web.session import CSRF_FIELD, tokens_match

CSRF_REFUSED = "missing or wrong CSRF token; reload the page and send the form again"
FORM_TYPE = "application/x-www-form-urlencoded"
# Form bodies are a few fields of text; the app's body limit bounds their size anyway.
MAX_FORM_FIELDS = 16


def parse_form(body: bytes, fields: frozenset[str]) -> dict[str, str]:
    """An urlencoded ``body`` as ``{name: text}``, ``CSRF_FIELD`` included when sent.

    Raises HTTPException 422 naming each field the form does not take (``fields`` plus
    ``CSRF_FIELD``), each field sent twice, each whose name or value is not UTF-8 once
    percent-decoded, and 413 past ``MAX_FORM_FIELDS`` fields, so nothing sent is ignored or
    altered.
    """
    allowed = fields | {CSRF_FIELD}
    chunks = [c for c in body.split(b"&") if c]
    if len(chunks) > MAX_FORM_FIELDS:
        message = f"at most {MAX_FORM_FIELDS} form fields"
        raise HTTPException(413, [field_error("body", message, "too_many_fields")])
    errors = []
    values: dict[str, str] = {}
    for chunk in chunks:
        try:
            text = chunk.decode("utf-8")  # browsers send percent-encoded ASCII
            [(name, value)] = parse_qsl(text, keep_blank_values=True, errors="strict")
        except (UnicodeDecodeError, ValueError):
            raw_name = chunk.partition(b"=")[0].decode("utf-8", errors="replace")
            name = unquote_plus(raw_name, errors="replace")
            errors.append(field_error(name, "not valid UTF-8 text", "invalid_utf8"))
            continue
        if name not in allowed:
            errors.append(field_error(name, "unknown form field", "unknown_field"))
        elif name in values:
            errors.append(field_error(name, "sent more than once", "duplicate_field"))
        else:
            values[name] = value
    if errors:
        raise HTTPException(422, errors)
    return values


async def read_form(request: Request, fields: frozenset[str]) -> dict[str, str]:
    """The request's form (``parse_form``); 415 naming ``Content-Type`` unless urlencoded."""
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media_type != FORM_TYPE:
        message = f"send the form as {FORM_TYPE}"
        raise HTTPException(415, [field_error("Content-Type", message, "unsupported_media_type")])
    return parse_form(await request.body(), fields)


def csrf_refused() -> HTTPException:
    """The one refusal of a form without the right CSRF token: 403, field ``csrf_token``."""
    return HTTPException(403, [field_error(CSRF_FIELD, CSRF_REFUSED, "csrf")])


def require_csrf(expected: str, form: dict[str, str]) -> None:
    """Raise ``csrf_refused()`` unless the form repeats the session's token ``expected``."""
    if not tokens_match(expected, form.get(CSRF_FIELD)):
        raise csrf_refused()
