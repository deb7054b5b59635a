"""Backfill: scoring as of an earlier time from a later export ignores the later rows (counted,
not rejected), scores exactly what the export cut at that time scores, and can be monitored."""

from __future__ import annotations

import shutil
import sqlite3
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from features.cli import build_app
from features.loading import ExportInvalid, load_export
from features.synthetic import generate_crm
from tests.training.test_monitoring_outcomes import cut_export
from training.config import DEFAULT_CONFIG_PATH

LATE = datetime(2026, 10, 1)
EARLY = datetime(2026, 6, 15)
TIMESTAMPS = ("occurred_at", "created_at", "converted_at", "closed_lost_at", "churned_at")


def _invoke(args: list[str], env: dict[str, str]) -> str:
    result = CliRunner().invoke(build_app(), args, env={"COLUMNS": "250", **env})
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.output


@pytest.fixture(scope="module")
def late(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("backfill")
    generate_crm(root / "late", leads=100, customers=1500, seed=5, as_of=LATE, months=18,
                 truth=False)  # fmt: skip
    return root / "late"


def test_rows_after_the_as_of_are_counted_for_scoring_and_refused_for_training(
    late: Path,
) -> None:
    with pytest.raises(ExportInvalid, match="after the as-of time"):
        load_export(late, as_of=EARLY)
    export = load_export(late, as_of=EARLY, ignore_later_rows=True)
    export.close()
    expected = {}
    for path in sorted(late.glob("*.parquet")):
        frame = pd.read_parquet(path)
        for column in TIMESTAMPS:
            if column in frame and (rows := int((frame[column] > EARLY).sum())):
                expected[f"{path.name}, {column}"] = rows
    assert expected  # the test means something: the later export has later rows
    assert dict(export.later_rows) == expected


@pytest.mark.slow
def test_backfill_scores_what_the_cut_export_scores_and_monitor_reads_it(
    late: Path, tmp_path: Path
) -> None:
    cut_export(late, tmp_path / "early", EARLY)
    config = tmp_path / "config.toml"
    config.write_text(
        DEFAULT_CONFIG_PATH.read_text().replace("n_estimators = 250", "n_estimators = 30")
    )
    shutil.copy(DEFAULT_CONFIG_PATH.with_name("wording.toml"), tmp_path / "wording.toml")
    mlflow = f"sqlite:///{tmp_path / 'models' / 'mlflow.db'}"
    env = {
        "SALESRADAR_SCORES_URL": f"sqlite:///{tmp_path / 'scores.db'}",
        "SALESRADAR_SERVED_DIR": str(tmp_path / "served"),
        "SALESRADAR_MLFLOW_TRACKING_URI": mlflow,
        "MLFLOW_TRACKING_URI": mlflow,
        "SALESRADAR_REGISTRY_TIMEOUT_SECONDS": "120",
    }
    common = ["--config", str(config), "--models-dir", str(tmp_path / "models")]
    early = ["--as-of", EARLY.isoformat(), "--task", "churn"]
    _invoke(["train", "churn", "--data", str(tmp_path / "early"), *early[:2], "--promote",
             *common], env)  # fmt: skip
    _invoke(["score", "--data", str(tmp_path / "early"), *early], env)
    output = _invoke(["score", "--data", str(late), *early], env)
    assert "backfill: ignored" in output
    assert "customer_events.parquet, occurred_at" in output

    with sqlite3.connect(tmp_path / "scores.db") as db:
        runs = [r for (r,) in db.execute("SELECT run_id FROM score_runs ORDER BY published_seq")]
        cut, backfill = (
            db.execute(
                "SELECT entity_id, probability, tier FROM scores WHERE run_id = ? "
                "ORDER BY entity_id",
                (run,),
            ).fetchall()
            for run in runs
        )
    assert len(runs) == 2
    assert backfill == cut  # the later rows changed nothing as of EARLY

    monitored = _invoke(["monitor", "--data", str(late), *common], env)
    assert monitored.count("complete:") == 2  # both runs judged, their windows closed at LATE
