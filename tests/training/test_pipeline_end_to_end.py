"""`salesradar pipeline` for real: a champion trained on the CRM as it was in June is due by
age on the October export; the pipeline scores, monitors, retrains and decides on promotion,
does nothing the second time, and a failing run leaves the published run served."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from mlflow import MlflowClient

from tests.serving.delivery.receivers import http_receiver
from tests.training.pipelinekit import EARLY, LATE, cli_world, invoke, late_and_early

pytestmark = pytest.mark.slow


def _published(db: Path) -> list[str]:
    with sqlite3.connect(db) as conn:
        return [
            run
            for (run,) in conn.execute(
                "SELECT run_id FROM score_runs WHERE status = 'published' ORDER BY published_seq"
            )
        ]


def published_run(root: Path) -> str:
    """The last published run's id."""
    return _published(root / "scores.db")[-1]


def test_the_pipeline_does_the_work_once_and_a_failure_unpublishes_nothing(
    tmp_path: Path,
) -> None:
    late = late_and_early(tmp_path)
    env, common = cli_world(tmp_path)
    code, output = invoke(
        ["train", "churn", "--data", str(tmp_path / "early"), "--as-of", EARLY.isoformat(),
         "--promote", *common], env,
    )  # fmt: skip
    assert code == 0, output
    pipeline = ["pipeline", "--data", str(late), "--as-of", LATE.isoformat(), *common]

    with http_receiver(fail_first=0) as (url, received):
        delivery = {
            "SALESRADAR_DELIVERY__WEBHOOK_URL": url,
            "SALESRADAR_DELIVERY__WEBHOOK_SECRET": "s",
        }
        code, first = invoke(pipeline, {**env, **delivery})
        # score delivers each rep's digest once after publishing; the notify step finds them sent.
        sent = len(received.requests)
    assert code == 0, first
    assert sent > 0, first
    assert "score: done: published run" in first
    assert "due churn: due: salesradar-churn v1: model age 108 days" in first, first
    assert "retrain churn: " in first and "salesradar-churn v2:" in first, first
    assert "trees roc_auc" in first and "logistic regression" in first, first
    assert (
        f"notify: done: run {published_run(tmp_path)}: sent 0, already sent {sent}, failed 0"
        in (" ".join(first.split()))
    ), first
    published = _published(tmp_path / "scores.db")
    assert len(published) == 1
    client = MlflowClient(env["MLFLOW_TRACKING_URI"])
    versions = len(client.search_model_versions("name = 'salesradar-churn'"))
    assert versions == 2

    code, second = invoke(pipeline, env)
    assert code == 0, second
    assert "nothing to do: export" in second, second
    assert "score: reused: done by pipeline run" in second
    assert _published(tmp_path / "scores.db") == published  # no second scoring run
    assert len(client.search_model_versions("name = 'salesradar-churn'")) == versions  # no training

    # A leads-only export: valid, but nothing it holds has a champion, so scoring fails.
    leads_only = tmp_path / "leads_only"
    leads_only.mkdir()
    for name in ("leads.parquet", "lead_events.parquet"):
        shutil.copy(late / name, leads_only / name)
    code, failed = invoke([*pipeline[:2], str(leads_only), *pipeline[3:]], env)
    lines = [line for line in failed.splitlines() if line.startswith("error:")]
    assert code == 1 and len(lines) == 1, failed
    assert lines[0].startswith("error: pipeline failed at score: nothing to score")
    assert _published(tmp_path / "scores.db") == published
    with sqlite3.connect(tmp_path / "scores.db") as conn:
        statuses = [
            s for (s,) in conn.execute("SELECT status FROM pipeline_runs ORDER BY started_at")
        ]
    assert statuses == ["done", "done", "failed"]
