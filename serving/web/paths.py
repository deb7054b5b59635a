"""The reps' page addresses, in one place: the pages mount them and digests link to them."""

from __future__ import annotations

from urllib.parse import quote

from features.contract.tasks import EntityKind

SEGMENT: dict[EntityKind, str] = {"customer": "customers", "lead": "leads"}


def entity_href(kind: EntityKind, entity_id: str) -> str:
    """The entity page's path, e.g. ``/web/customers/C-12`` (the id percent-encoded, so any id is
    one path segment). Raises ``KeyError`` for a kind other than customer or lead."""
    return f"/web/{SEGMENT[kind]}/{quote(entity_id, safe='')}"
