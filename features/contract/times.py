"""Moments given on the command line: ISO 8601 text to naive UTC, the one rule for every command.

Offsets are converted to UTC and naive values are taken as UTC, as in the export contract. The
wall clock is read only by the caller (a command's entry point) and passed in as ``now``.
"""

from __future__ import annotations

from datetime import UTC, datetime

from features.errors import UserError


def to_naive_utc(moment: datetime, *, what: str = "time") -> datetime:
    """The same instant as naive UTC: the library's one time convention (every module imports it).

    Naive input is taken as UTC already and returned as is; an aware one is converted. Anything
    that is not a ``datetime`` (a ``date``, a string) raises ``TypeError`` naming ``what``, rather
    than being read as midnight or failing later on a missing attribute.
    """
    if not isinstance(moment, datetime):
        raise TypeError(f"{what} must be a datetime, got {type(moment).__name__}")
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


def parse_moment(text: str, *, option: str = "--as-of") -> datetime:
    """Parse an ISO 8601 date or time into naive UTC; a one-line UserError names ``option``."""
    try:
        return to_naive_utc(datetime.fromisoformat(text.strip()))
    except ValueError:
        raise UserError(f"{option} {text!r} is not an ISO 8601 date or time") from None


def resolve_as_of(
    text: str | None, *, now: datetime, allow_future: bool = True, option: str = "--as-of"
) -> datetime:
    """``text`` parsed, or ``now`` when it is absent; refuses a future time when asked to."""
    if text is None:
        return to_naive_utc(now)
    moment = parse_moment(text, option=option)
    if not allow_future and moment > to_naive_utc(now):
        raise UserError(f"{option} {iso_utc(moment)} is in the future")
    return moment


def iso_utc(moment: datetime) -> str:
    """``moment`` as ISO 8601 UTC to the second with the zone as ``Z``: ``2026-10-01T00:00:00Z``.

    The one format of every timestamp the API, its CSV files and the CLI show. Naive input is
    taken as UTC (as everywhere in salesradar); aware input is converted to UTC. Sub-second
    digits are dropped (truncated, not rounded, so a moment never moves into the next second):
    every stored time is a day, an as-of or a wall-clock stamp for which they are noise.
    """
    return to_naive_utc(moment).replace(microsecond=0).isoformat() + "Z"
