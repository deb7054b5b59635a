"""Backfill: scoring as of an earlier time from a later export ignores the later rows (counted,
not rejected), scores exactly what the export cut at that time scores, and can be monitored."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pandas as pd
import pytest

from features.contract.loading import ExportInvalid, load_export
from features.synthetic import generate_crm
from tests.training.pipelinekit import EARLY, LATE, cli_world, invoke
from tests.training.test_monitoring_outcomes import cut_export

TIMESTAMPS = ("occurred_at", "created_at", "converted_at", "closed_lost_at", "churned_at")


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
    env, common = cli_world(tmp_path)
    early = ["--as-of", EARLY.isoformat(), "--task", "churn"]
    for args in (
        ["train", "churn", "--data", str(tmp_path / "early"), *early[:2], "--promote", *common],
        ["score", "--data", str(tmp_path / "early"), *early],
    ):
        assert invoke(args, env)[0] == 0
    code, output = invoke(["score", "--data", str(late), *early], env)
    assert code == 0, output
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

    code, monitored = invoke(["monitor", "--data", str(late), *common], env)
    assert code == 0, monitored
    assert monitored.count("complete:") == 2  # both runs judged, their windows closed at LATE


@pytest.mark.slow
def test_a_pipeline_backfill_names_the_run_it_stored_not_the_published_one(
    late: Path, tmp_path: Path
) -> None:
    """The pipeline's score step as of an earlier time than the published run: `score` stores
    the run unpublished, and the step says so, naming that run and the later published one."""
    cut_export(late, tmp_path / "early", EARLY)
    env, common = cli_world(tmp_path)
    at_late = ["--as-of", LATE.isoformat()]
    for args in (
        ["train", "churn", "--data", str(late), *at_late, "--promote", *common],
        ["score", "--data", str(late), *at_late],
    ):
        code, output = invoke(args, env)
        assert code == 0, output
    code, output = invoke(
        ["pipeline", "--data", str(tmp_path / "early"), "--as-of", EARLY.isoformat(), *common],
        env,
    )
    with sqlite3.connect(tmp_path / "scores.db") as db:
        runs = dict(db.execute("SELECT status, run_id FROM score_runs").fetchall())
    assert sorted(runs) == ["published", "stored"], output
    said = " ".join(output.split())
    assert (
        f"score: done: stored run {runs['stored']} (churn) as of {EARLY.isoformat()}Z, not "
        f"published: the published run {runs['published']} is as of the later "
        f"{LATE.isoformat()}Z"
    ) in said, output
    assert code == 0, output
