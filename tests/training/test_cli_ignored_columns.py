"""`salesradar train` and `validate` name, per event table, the extra columns no feature reads
(a ``Kanal`` column the features do not know), so nothing is silently ignored."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from features.cli.root import build_app
from features.synthetic import DEFAULT_AS_OF, generate_crm

IGNORED = (
    "lead_events: column(s) Kanal, Notiz intern ignored: no feature reads them (features "
    "know channel, direction, outcome by name; other event columns only tell events apart "
    "when exact duplicates are dropped)"
)


def test_train_and_validate_name_the_event_columns_train_ignores(tmp_path: Path) -> None:
    export = tmp_path / "export"
    generate_crm(export, leads=150, customers=40, seed=3, as_of=DEFAULT_AS_OF, months=12)
    events = pd.read_parquet(export / "lead_events.parquet")
    events["Kanal"] = "web"
    events["Notiz intern"] = "x"
    events.to_parquet(export / "lead_events.parquet", index=False)
    result = CliRunner().invoke(
        build_app(),
        ["train", "leads", "--data", str(export), "--as-of", DEFAULT_AS_OF.isoformat(), "--plan",
         "--models-dir", str(tmp_path / "models")],
        env={"COLUMNS": "200"},
    )  # fmt: skip
    lines = [line for line in result.output.splitlines() if "ignored" in line]
    assert lines == [IGNORED], result.output
    validated = CliRunner().invoke(
        build_app(),
        ["validate", str(export), "--as-of", DEFAULT_AS_OF.isoformat()],
        env={"COLUMNS": "200"},
    )
    assert validated.exit_code == 0, validated.output
    assert [line for line in validated.output.splitlines() if "ignored" in line] == [IGNORED]
