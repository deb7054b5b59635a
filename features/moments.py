"""Moments given on the command line: ISO 8601 text to naive UTC, the one rule for every command.

Offsets are converted to UTC and naive values are taken as UTC, as in the export contract. The
wall clock is read only by the caller (a command's entry point) and passed in as ``now``.
"""

from __future__ import annotations

from datetime import UTC, datetime

from features.errors import UserError


def to_naive_utc(moment: datetime) -> datetime:
    """The same instant as naive UTC (naive input is taken as UTC already)."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


def iso_utc(moment: datetime) -> str:
    """``moment`` as ISO 8601 UTC text with a ``Z``: the one way a time is written out.

    Naive input is taken as UTC (the contract's rule). Whole seconds are written without a
    fraction; otherwise to the millisecond, below which no CRM or clock time here means
    anything (``2026-11-02T09:00:00Z``, ``2026-11-02T09:00:00.250Z``).
    """
    utc = to_naive_utc(moment)
    timespec = "seconds" if utc.microsecond == 0 else "milliseconds"
    return utc.isoformat(timespec=timespec) + "Z"


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
        raise UserError(f"{option} {moment.isoformat()} is in the future")
    return moment
