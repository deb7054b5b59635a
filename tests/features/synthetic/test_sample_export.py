"""The committed sample export validates cleanly and is exactly what its README's command makes."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from features.contract.validation import validate_export
from features.synthetic import generate_crm

SAMPLE = Path(__file__).resolve().parents[3] / "data" / "sample"
AS_OF = datetime(2026, 10, 1)
TABLES = ("leads", "customers", "accounts", "lead_events", "customer_events")


def test_committed_sample_has_zero_errors() -> None:
    report = validate_export(SAMPLE, as_of=AS_OF)
    assert list(report.errors) == []
    assert report.row_counts["customer_events"] > 0


def test_committed_sample_is_byte_identical_to_its_command(tmp_path: Path) -> None:
    # The command in data/sample/README.md: regenerating must not change a byte, so the sample
    # cannot silently drift from the generator (event types, columns, messiness).
    out = tmp_path / "sample"
    generate_crm(
        out, leads=200, customers=100, seed=42, as_of=AS_OF, months=12, fmt="csv", truth=False
    )
    for table in TABLES:
        committed = (SAMPLE / f"{table}.csv").read_bytes()
        assert (out / f"{table}.csv").read_bytes() == committed, table
