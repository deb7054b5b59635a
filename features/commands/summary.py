"""`salesradar summary` (placeholder until its implementation lands)."""

from __future__ import annotations

from features.errors import UserError


def command() -> None:
    """Not implemented yet."""
    raise UserError("'summary' is not implemented yet")
