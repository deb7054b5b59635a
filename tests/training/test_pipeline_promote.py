"""The pipeline's ``promote`` step for real, with ``[promotion] require_shadow_runs = 1``.

A generated CRM of 1,500 customers is cut at 2026-03-15 and at 2026-06-15. Champion v1 is trained
as of March, challenger v2 as of June (``train --promote`` refuses it: no shadow evidence yet).
``salesradar pipeline`` on the June export scores v2 in shadow and its promote step refuses v2
again, recording why; on the full export as of 2026-10-01 (the June run's 90 days have closed)
monitor compares the two on the matured run and the promote step promotes v2. The registry's
aliases and the pipeline's recorded decisions are checked after each run. The champion is never
due (age limit 400 days, no drift or performance trigger), so the only way v2 can become
champion is the promote step.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path

import pytest
from mlflow import MlflowClient

from features.model.artifact_contract import CHALLENGER, CHAMPION
from features.synthetic import generate_crm
from tests.training.pipelinekit import LATE, cli_world, invoke
from tests.training.test_monitoring_outcomes import cut_export

pytestmark = pytest.mark.slow

MARCH = datetime(2026, 3, 15)  # the champion's as-of
JUNE = datetime(2026, 6, 15)  # the challenger's; its 90-day window closes before LATE
MODEL = "salesradar-churn"


def _config(config: Path) -> None:
    """``config`` requiring one matured shadow run, with a champion that is never due."""
    text = config.read_text()
    for old, new in (
        ("require_shadow_runs = 0", "require_shadow_runs = 1"),
        ("max_model_age_days = 90", "max_model_age_days = 400"),
        ("retrain_on_drift = true", "retrain_on_drift = false"),
        ("performance_margin = 0.05", "performance_margin = 1.0"),
    ):
        assert old in text, old
        text = text.replace(old, new)
    config.write_text(text)


def _decisions(db: Path) -> list[tuple[str, str | None, str, str]]:
    """(step, task, outcome, reason) of the last pipeline run, in order."""
    with sqlite3.connect(db) as conn:
        (last,) = conn.execute(
            "SELECT pipeline_run_id FROM pipeline_runs ORDER BY started_at DESC LIMIT 1"
        ).fetchone()
        return list(
            conn.execute(
                "SELECT step, task, outcome, reason FROM pipeline_decisions "
                "WHERE pipeline_run_id = ? ORDER BY decision_id",
                (last,),
            )
        )


def _aliases(client: MlflowClient) -> tuple[str, str]:
    return tuple(  # type: ignore[return-value]
        str(client.get_model_version_by_alias(MODEL, alias).version)
        for alias in (CHAMPION, CHALLENGER)
    )


def test_the_pipeline_promotes_a_challenger_once_its_shadow_run_has_matured(
    tmp_path: Path,
) -> None:
    late = tmp_path / "late"
    generate_crm(late, leads=100, customers=1500, seed=5, as_of=LATE, months=18, truth=False)
    cut_export(late, tmp_path / "march", MARCH)
    cut_export(late, tmp_path / "june", JUNE)
    env, common = cli_world(tmp_path)
    _config(Path(common[1]))
    client = MlflowClient(env["MLFLOW_TRACKING_URI"])
    db = tmp_path / "scores.db"
    for export, as_of in (("march", MARCH), ("june", JUNE)):
        code, output = invoke(
            ["train", "churn", "--data", str(tmp_path / export), "--as-of", as_of.isoformat(),
             "--promote", *common], env,
        )  # fmt: skip
        assert code == 0, output
    assert _aliases(client) == ("1", "2")
    waiting = "challenger v2 vs champion v1: compared on 0 matured shadow run(s)"
    refused = client.get_model_version(MODEL, "2")
    assert refused.tags["promotion.decision"] == "rejected"
    assert waiting in client.get_run(refused.run_id).data.tags["promotion.reasons"]

    # June: v2 is scored in shadow for the first time; nothing has matured, so it waits.
    code, output = invoke(
        ["pipeline", "--data", str(tmp_path / "june"), "--as-of", JUNE.isoformat(), *common], env
    )
    assert code == 0, output
    steps = {(step, task): (outcome, reason) for step, task, outcome, reason in _decisions(db)}
    assert steps[("due", "churn")][0] == "not_due"
    outcome, reason = steps[("promote", "churn")]
    assert outcome == "rejected" and waiting in reason, reason
    assert ("retrain", "churn") not in steps
    assert _aliases(client) == ("1", "2")
    with sqlite3.connect(db) as conn:
        shadows = list(conn.execute("SELECT model_version, status FROM shadow_runs"))
    assert shadows == [("2", "scored")]

    # October: the June run's horizon has closed; monitor compares v2 with v1 on it.
    code, output = invoke(
        ["pipeline", "--data", str(late), "--as-of", LATE.isoformat(), *common], env
    )
    assert code == 0, output
    decisions = _decisions(db)
    steps = {(step, task): (outcome, reason) for step, task, outcome, reason in decisions}
    assert [step for step, *_ in decisions] == [
        "validate", "score", "monitor", "due", "promote", "notify"
    ]  # fmt: skip
    assert steps[("due", "churn")][0] == "not_due"
    outcome, reason = steps[("promote", "churn")]
    assert outcome == "promoted", reason
    assert "challenger v2 vs champion v1: did not lose on roc_auc on 1 matured shadow run" in reason
    assert _aliases(client) == ("2", "2")
    version = client.get_model_version(MODEL, "2")
    assert version.tags["promotion.decision"] == "promoted"
    assert client.get_run(version.run_id).data.tags["promotion.reasons"] in reason
    assert len(client.search_model_versions(f"name = '{MODEL}'")) == 2  # nothing retrained

    # Run again on the same export: every step is reused, the registry is left as it is.
    code, again = invoke(
        ["pipeline", "--data", str(late), "--as-of", LATE.isoformat(), *common], env
    )
    assert code == 0, again
    assert {outcome for _, _, outcome, _ in _decisions(db)} == {"reused"}
    assert _aliases(client) == ("2", "2")
