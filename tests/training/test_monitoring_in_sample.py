"""A run whose as-of precedes the end of the outcomes its model was trained on is judged on
labels the model saw: monitor says so, on the output and in the stored JSON."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from pathlib import Path

import pytest

from features.contract.tasks import Task
from tests.training.pipelinekit import EARLY, cli_world, invoke, late_and_early
from training.monitoring.outcomes import RunOutcome, TierOutcome

BACKFILL = datetime(2026, 2, 1)  # before the outcomes the model trained as of EARLY saw


def _outcome(in_sample_until: datetime | None) -> RunOutcome:
    tier = TierOutcome(tier="high", entities=40, realised_rate=0.6, expected_rate=0.55)
    return RunOutcome(
        run_id="r", task=Task.CHURN, model_name="salesradar-churn", model_version="3",
        as_of=datetime(2026, 3, 1), window_end=datetime(2026, 5, 30), horizon_days=90,
        partial=False, scored=100, matched=100, positives=30, metrics={}, tiers=(tier,),
        in_sample_until=in_sample_until,
    )  # fmt: skip


def test_an_in_sample_run_says_so_first_and_in_its_json() -> None:
    outcome = _outcome(datetime(2026, 6, 15))
    lines = outcome.summary_lines()
    assert lines[0] == (
        "IN-SAMPLE: salesradar-churn v3 was trained on outcomes up to 2026-06-15, after this "
        "run's as-of 2026-03-01: these figures measure outcomes the model saw in training and "
        "flatter it; judge it on runs as of 2026-06-15 or later"
    )
    assert lines[1].startswith("of the 40 customers flagged high on 2026-03-01, 60% churned")
    data = outcome.to_dict()
    assert (data["in_sample"], data["in_sample_until"]) == (True, "2026-06-15T00:00:00")


def test_an_out_of_sample_run_reads_as_before() -> None:
    outcome = _outcome(None)
    assert not outcome.in_sample and outcome.in_sample_line() is None
    assert outcome.summary_lines()[0].startswith("of the 40 customers flagged high")
    assert outcome.to_dict()["in_sample"] is False


@pytest.mark.slow
def test_monitor_marks_a_backfilled_run_before_the_training_outcomes_in_sample(
    tmp_path: Path,
) -> None:
    late = late_and_early(tmp_path)
    env, common = cli_world(tmp_path)
    churn = ["--task", "churn"]
    for args in (
        ["train", "churn", "--data", str(tmp_path / "early"), "--as-of", EARLY.isoformat(),
         "--promote", *common],
        ["score", "--data", str(tmp_path / "early"), "--as-of", EARLY.isoformat(), *churn],
        # A backfill inside the training outcomes: stored, not published, and judged.
        ["score", "--data", str(late), "--as-of", BACKFILL.isoformat(), *churn],
    ):  # fmt: skip
        code, output = invoke(args, env)
        assert code == 0, output
    assert "not published: the published run" in output

    code, output = invoke(["monitor", "--data", str(late), *common], env)
    assert code == 0, output
    headers = [line for line in output.splitlines() if line.startswith("churn run ")]
    assert len(headers) == 2, output
    (in_sample,) = [h for h in headers if "as of 2026-02-01" in h]
    assert "complete, IN-SAMPLE:" in in_sample
    assert "IN-SAMPLE" not in next(h for h in headers if h is not in_sample)
    assert "  IN-SAMPLE: salesradar-churn v1 was trained on outcomes up to 2026-" in output
    with sqlite3.connect(tmp_path / "scores.db") as db:
        stored = dict(db.execute("SELECT as_of, outcome FROM monitoring_results").fetchall())
    flags = {as_of[:10]: json.loads(outcome)["in_sample"] for as_of, outcome in stored.items()}
    assert flags == {"2026-02-01": True, "2026-06-15": False}
