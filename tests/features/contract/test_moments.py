"""Command-line moments: one parse rule (offsets to UTC, naive = UTC), now only from the caller."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from features.contract.times import parse_moment, resolve_as_of, to_naive_utc
from features.contract.validation import validate_export
from features.errors import UserError

NOW = datetime(2026, 3, 1, 12, 0)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-01-02", datetime(2026, 1, 2)),
        ("2026-01-02T03:04:05", datetime(2026, 1, 2, 3, 4, 5)),
        ("2026-01-02T03:04:05Z", datetime(2026, 1, 2, 3, 4, 5)),
        ("2026-01-02T03:04:05+02:00", datetime(2026, 1, 2, 1, 4, 5)),
    ],
)
def test_offsets_convert_to_utc_and_naive_is_utc(text: str, expected: datetime) -> None:
    assert parse_moment(text) == expected


def test_unparsable_text_names_the_option() -> None:
    with pytest.raises(UserError, match=r"^--cutoffs 'soon' is not an ISO 8601 date or time$"):
        parse_moment("soon", option="--cutoffs")


def test_absent_as_of_is_the_callers_now_in_naive_utc() -> None:
    aware = datetime(2026, 3, 1, 14, 0, tzinfo=timezone(timedelta(hours=2)))
    assert resolve_as_of(None, now=aware) == NOW
    assert resolve_as_of(None, now=NOW.replace(tzinfo=UTC)) == NOW


def test_future_as_of_is_refused_only_when_asked() -> None:
    assert resolve_as_of("2026-03-02", now=NOW) == datetime(2026, 3, 2)
    with pytest.raises(UserError, match="in the future"):
        resolve_as_of("2026-03-02", now=NOW, allow_future=False)


def test_one_time_convention_aware_converted_naive_kept() -> None:
    plus_two = timezone(timedelta(hours=2))
    assert to_naive_utc(datetime(2026, 1, 2, 3, 0, tzinfo=plus_two)) == datetime(2026, 1, 2, 1, 0)
    assert to_naive_utc(datetime(2026, 1, 2, 3, 0)) == datetime(2026, 1, 2, 3, 0)


def test_a_date_as_of_is_refused_by_name_at_every_entry(tmp_path: Path) -> None:
    # Validation once failed on a date with "'datetime.date' object has no attribute 'tzinfo'".
    with pytest.raises(TypeError, match=r"^as_of must be a datetime, got date$"):
        validate_export(tmp_path, as_of=date(2026, 1, 2))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^cutoff must be a datetime, got str$"):
        to_naive_utc("2026-01-02", what="cutoff")  # type: ignore[arg-type]
