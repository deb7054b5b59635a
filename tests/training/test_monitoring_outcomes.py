"""`salesradar monitor` end to end: a CRM cut at earlier times is trained on and scored, then
judged on the full (later) export; realised figures are recomputed here from the later files."""

from __future__ import annotations

import json
import shutil
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient
from sklearn.metrics import average_precision_score, roc_auc_score
from typer.testing import CliRunner

from features.cli.root import build_app
from features.synthetic import generate_crm
from training.config import DEFAULT_CONFIG_PATH

pytestmark = pytest.mark.slow

LATE = datetime(2026, 10, 1)
CLOSED = datetime(2026, 6, 15)  # its 90-day window closes before LATE: complete
OPEN = datetime(2026, 9, 1)  # its window is still open at LATE: partial
HORIZON = timedelta(days=90)


def cut_export(source: Path, target: Path, at: datetime) -> None:
    """The export as the CRM held it at ``at``: later rows dropped, later outcomes unknown."""
    target.mkdir(parents=True)
    moment = pd.Timestamp(at)
    for path in source.glob("*.parquet"):
        frame = pd.read_parquet(path)
        for column in ("occurred_at", "created_at"):
            if column in frame:
                frame = frame.loc[frame[column] < moment]
        for column in ("converted_at", "closed_lost_at", "churned_at"):
            if column in frame:
                frame[column] = frame[column].where(frame[column] < moment)
        frame.to_parquet(target / path.name, index=False)


def _invoke(args: list[str], env: dict[str, str]) -> str:
    result = CliRunner().invoke(build_app(), args, env={"COLUMNS": "250", **env})
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.output


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    root = tmp_path_factory.mktemp("monitor")
    late = root / "late"
    generate_crm(late, leads=100, customers=1500, seed=5, as_of=LATE, months=18, truth=False)
    cut_export(late, root / "closed", CLOSED)
    cut_export(late, root / "open", OPEN)
    config = root / "config.toml"
    config.write_text(
        DEFAULT_CONFIG_PATH.read_text().replace("n_estimators = 250", "n_estimators = 30")
    )
    shutil.copy(DEFAULT_CONFIG_PATH.with_name("wording.toml"), root / "wording.toml")
    env = {
        "SALESRADAR_SCORES_URL": f"sqlite:///{root / 'scores.db'}",
        "SALESRADAR_SERVED_DIR": str(root / "served"),
        "SALESRADAR_MLFLOW_TRACKING_URI": f"sqlite:///{root / 'models' / 'mlflow.db'}",
        "MLFLOW_TRACKING_URI": f"sqlite:///{root / 'models' / 'mlflow.db'}",
        "SALESRADAR_REGISTRY_TIMEOUT_SECONDS": "120",
    }
    common = ["--config", str(config), "--models-dir", str(root / "models")]
    _invoke(
        ["train", "churn", "--data", str(root / "closed"), "--as-of", CLOSED.isoformat(),
         "--promote", *common],
        env,
    )  # fmt: skip
    for name, moment in (("closed", CLOSED), ("open", OPEN)):
        _invoke(["score", "--data", str(root / name), "--as-of", moment.isoformat()], env)
    output = _invoke(["monitor", "--data", str(late), *common], env)
    return {"root": root, "late": late, "env": env, "common": common, "output": output}


def _results(root: Path) -> pd.DataFrame:
    with sqlite3.connect(root / "scores.db") as conn:
        return pd.read_sql("SELECT * FROM monitoring_results ORDER BY as_of", conn)


def _scores(root: Path, as_of: datetime) -> pd.DataFrame:
    with sqlite3.connect(root / "scores.db") as conn:
        frame = pd.read_sql(
            "SELECT s.entity_id, s.probability, s.tier FROM scores s "
            "JOIN score_runs r ON r.run_id = s.run_id WHERE r.as_of LIKE ? ORDER BY s.entity_id",
            conn,
            params=(f"{as_of:%Y-%m-%d %H:%M:%S}%",),
        )
    return frame


def _churn_labels(late: Path, ids: pd.Series, start: datetime, end: datetime) -> pd.Series:
    """Silent churn recomputed from the later files: cancelled in [start, end), or no order."""
    customers = pd.read_parquet(late / "customers.parquet").set_index("customer_id")
    events = pd.read_parquet(late / "customer_events.parquet")
    window = events.loc[
        (events["type"] == "order")
        & (events["occurred_at"] >= start)
        & (events["occurred_at"] < end)
    ]
    ordered = ids.isin(window["customer_id"])
    churned = customers.loc[ids, "churned_at"]
    cancelled = ((churned >= start) & (churned < end)).to_numpy()
    return pd.Series((cancelled | ~ordered.to_numpy()).astype(int), index=ids.index)


def test_realised_metrics_agree_with_a_direct_computation(world: dict[str, object]) -> None:
    root, late = Path(str(world["root"])), Path(str(world["late"]))
    result = _results(root).iloc[0]
    outcome = json.loads(result["outcome"])
    assert not result["partial"]
    scored = _scores(root, CLOSED)
    labels = _churn_labels(late, scored["entity_id"], CLOSED, CLOSED + HORIZON)
    assert outcome["matched"] == outcome["scored"] == len(scored)
    assert outcome["positives"] == int(labels.sum())
    metrics = outcome["metrics"]
    assert metrics["roc_auc"] == pytest.approx(roc_auc_score(labels, scored["probability"]))
    assert metrics["pr_auc"] == pytest.approx(
        average_precision_score(labels, scored["probability"])
    )
    top = scored.assign(label=labels).sort_values("probability", ascending=False, kind="stable")
    assert metrics["precision_at_k"] == pytest.approx(top["label"].head(200).mean())
    for tier in outcome["tiers"]:
        rows = labels[scored["tier"] == tier["tier"]]
        assert tier["entities"] == len(rows)
        assert tier["realised_rate"] == pytest.approx(rows.mean())
        expected = scored.loc[scored["tier"] == tier["tier"], "probability"].mean()
        assert tier["expected_rate"] == pytest.approx(expected)
    high = next(t for t in outcome["tiers"] if t["tier"] == "high")
    sentence = (
        f"of the {high['entities']} customers flagged high on 2026-06-15, "
        f"{high['realised_rate']:.0%} churned or placed no order in the next 90 days "
        f"(expected {high['expected_rate']:.0%})"
    )
    assert sentence in " ".join(str(world["output"]).split())


def test_an_open_horizon_is_marked_partial(world: dict[str, object]) -> None:
    root = Path(str(world["root"]))
    result = _results(root).iloc[1]
    assert result["partial"]
    outcome = json.loads(result["outcome"])
    last_event = pd.read_parquet(Path(str(world["late"])) / "customer_events.parquet")[
        "occurred_at"
    ].max()
    assert outcome["window_end"] == last_event.isoformat()  # outcomes so far, to the as-of
    assert "(partial)" in str(world["output"])
    assert "PARTIAL" in str(world["output"])


def test_monitor_puts_the_realised_tier_rates_in_the_manager_card(
    world: dict[str, object],
) -> None:
    root = Path(str(world["root"]))
    complete = json.loads(_results(root).iloc[0]["outcome"])
    high = complete["tiers"][0]
    bullet = f"{high['tier']}: {high['realised_rate']:.0%} of {high['entities']:,}"
    card = _invoke(
        ["models", "--card", "churn", "--models-dir", str(root / "models")], world["env"]
    )  # type: ignore[arg-type]
    assert f"Scored {complete['as_of'][:10]} (the full 90 days)" in card and bullet in card
    client = MlflowClient(tracking_uri=f"sqlite:///{root / 'models' / 'mlflow.db'}")
    version = client.get_model_version_by_alias("salesradar-churn", "champion")
    local = client.download_artifacts(version.run_id, "manager_card.md", str(root))
    assert bullet in Path(local).read_text(encoding="utf-8")  # re-rendered by `monitor`


def test_rerunning_monitor_replaces_instead_of_duplicating(world: dict[str, object]) -> None:
    root = Path(str(world["root"]))
    before = _results(root)
    _invoke(
        ["monitor", "--data", str(world["late"]), *world["common"]],  # type: ignore[list-item]
        world["env"],  # type: ignore[arg-type]
    )
    after = _results(root)
    assert len(after) == len(before) == 2
    assert after["outcome"].tolist() == before["outcome"].tolist()
    client = MlflowClient(tracking_uri=f"sqlite:///{root / 'models' / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("salesradar-churn")
    runs = client.search_runs(
        [experiment.experiment_id], filter_string="tags.`salesradar.monitoring` = 'true'"
    )
    assert len(runs) == 2
    assert {r.data.tags["batch_run_id"] for r in runs} == set(after["run_id"])
    assert {r.data.tags["model_version"] for r in runs} == {"1"}
    version = client.get_model_version("salesradar-churn", "1")
    assert version.tags["monitoring.last_run_id"] in {r.info.run_id for r in runs}
    artifacts = {a.path for a in client.list_artifacts(runs[0].info.run_id, "monitoring")}
    assert "monitoring/drift_report.html" in artifacts
    assert "monitoring/reliability.png" in artifacts


def test_drift_fires_when_the_crm_renames_its_orders(
    world: dict[str, object], tmp_path: Path
) -> None:
    root = Path(str(world["root"]))
    shifted = tmp_path / "shifted"
    shutil.copytree(Path(str(world["late"])), shifted)
    events = pd.read_parquet(shifted / "customer_events.parquet")
    orders = events["type"] == "order"
    rng = np.random.default_rng(1)
    events.loc[orders & (rng.random(len(events)) < 0.6), "type"] = "web order"
    events.to_parquet(shifted / "customer_events.parquet", index=False)
    scores_copy = tmp_path / "scores.db"
    # The backup API, not a file copy: the store runs in WAL mode, recent pages are in -wal.
    with sqlite3.connect(root / "scores.db") as source, sqlite3.connect(scores_copy) as copy:
        source.backup(copy)
    env = {**world["env"], "SALESRADAR_SCORES_URL": f"sqlite:///{scores_copy}"}  # type: ignore[dict-item]
    output = _invoke(["monitor", "--data", str(shifted), *world["common"]], env)  # type: ignore[list-item]
    with sqlite3.connect(scores_copy) as conn:
        drift = json.loads(
            conn.execute("SELECT drift FROM monitoring_results ORDER BY as_of").fetchone()[0]
        )
    assert "unknown event types" in drift["drifted"]
    assert drift["events"]["unknown_types"][0] == "web order"
    window = events.loc[
        (events["occurred_at"] >= CLOSED - HORIZON) & (events["occurred_at"] < CLOSED)
    ]
    assert drift["events"]["events"] == len(window)
    assert drift["events"]["share"] == pytest.approx((window["type"] == "web order").mean())
    baseline = json.loads(_results(root).iloc[0]["drift"])
    assert "unknown event types" not in baseline["drifted"]
    assert baseline["events"]["share"] < 0.05
    assert "unknown event types" in output


def _record_actions(url: str, ids: list[str]) -> None:
    """Through serving's own store: the first 40 contacted 10 days after the run, every 4th of
    them also won back, and two actions outside the closed run's window that must not count."""
    from sqlalchemy import create_engine

    from serving.store.actions import ActionStore

    store = ActionStore(create_engine(url))
    store.create_schema()

    def record(entity_id: str, action: str, at: datetime) -> None:
        store.record(
            entity_kind="customer", entity_id=entity_id, owner_id=None, action=action, note="",
            recorded_at=at, recorded_by_key_id="k1", recorded_by_owner_id=None, run_id=None,
            score=None, tier=None,
        )  # fmt: skip

    for position, entity_id in enumerate(ids[:40]):
        record(entity_id, "contacted", CLOSED + timedelta(days=10))
        if position % 4 == 0:
            record(entity_id, "won back", CLOSED + timedelta(days=30))
    record(ids[50], "contacted", CLOSED - timedelta(seconds=1))  # before the run
    record(ids[51], "lost", CLOSED + HORIZON)  # the window is [as_of, as_of + horizon)


def _rates(rows: pd.DataFrame) -> dict[str, float]:
    return {
        "entities": len(rows),
        "realised_rate": rows["label"].mean(),
        "expected_rate": rows["probability"].mean(),
    }


def test_outcomes_split_by_reps_actions_agree_with_a_direct_computation(
    world: dict[str, object], tmp_path: Path
) -> None:
    root, late = Path(str(world["root"])), Path(str(world["late"]))
    scores_copy = tmp_path / "scores.db"
    with sqlite3.connect(root / "scores.db") as source, sqlite3.connect(scores_copy) as copy:
        source.backup(copy)
    scored = _scores(root, CLOSED)
    ids = scored["entity_id"].tolist()
    _record_actions(f"sqlite:///{scores_copy}", ids)
    env = {**world["env"], "SALESRADAR_SCORES_URL": f"sqlite:///{scores_copy}"}  # type: ignore[dict-item]
    output = _invoke(["monitor", "--data", str(late), *world["common"]], env)  # type: ignore[list-item]
    with sqlite3.connect(scores_copy) as conn:
        stored = conn.execute(
            "SELECT outcome, mlflow_run_id FROM monitoring_results ORDER BY as_of"
        ).fetchone()
    split = json.loads(stored[0])["actions"]

    # Directly: labels from the later files, groups from the actions in [CLOSED, CLOSED + 90d).
    rows = scored.assign(label=_churn_labels(late, scored["entity_id"], CLOSED, CLOSED + HORIZON))
    contacted = rows["entity_id"].isin(ids[:40])
    won_back = rows["entity_id"].isin(ids[:40:4])
    expected = {
        "recorded": _rates(rows.loc[contacted]),
        "none": _rates(rows.loc[~contacted]),
        "action.contacted": _rates(rows.loc[contacted]),
        "action.won_back": _rates(rows.loc[won_back]),
    }
    assert split["actions"] == 40 + 10
    assert split["note"] == "observational, not causal: reps choose whom to contact"
    assert [g["key"] for g in split["groups"]] == list(expected)
    client = MlflowClient(tracking_uri=f"sqlite:///{root / 'models' / 'mlflow.db'}")
    logged = client.get_run(stored[1]).data.metrics
    for group in split["groups"]:
        want = expected[group["key"]]
        for name, value in want.items():
            assert group[name] == pytest.approx(value), (group["key"], name)
            assert logged[f"actions.{group['key']}.{name}"] == pytest.approx(value)
        in_group = rows.loc[
            {"recorded": contacted, "none": ~contacted, "action.contacted": contacted,
             "action.won_back": won_back}[group["key"]]
        ]  # fmt: skip
        for tier in group["tiers"]:
            tier_rows = in_group.loc[in_group["tier"] == tier["tier"]]
            assert tier["entities"] == len(tier_rows)
            assert tier["realised_rate"] == pytest.approx(tier_rows["label"].mean())
            key = f"actions.{group['key']}.tier.{tier['tier']}.realised_rate"
            assert logged[key] == pytest.approx(tier_rows["label"].mean())
        assert sum(t["entities"] for t in group["tiers"]) == group["entities"]
    recorded = expected["recorded"]
    sentence = (
        "observational, not causal: reps choose whom to contact: of the 40 customers with a "
        f"recorded action between 2026-06-15 and 2026-09-13, {recorded['realised_rate']:.0%} "
        f"churned or placed no order (expected {recorded['expected_rate']:.0%})"
    )
    assert sentence in " ".join(output.split()), output


def test_a_model_without_a_training_reference_is_refused_in_one_line(
    world: dict[str, object],
) -> None:
    # Last in the module: it removes the reference the other tests read.
    root = Path(str(world["root"]))
    (reference,) = (root / "models" / "mlartifacts").rglob("monitoring/reference.json")
    reference.unlink()
    result = CliRunner().invoke(
        build_app(),
        ["monitor", "--data", str(world["late"]), *world["common"]],  # type: ignore[list-item]
        env={"COLUMNS": "250", **world["env"]},  # type: ignore[dict-item]
    )
    assert result.exit_code == 2, result.output
    last = result.output.strip().splitlines()[-1]
    assert last.startswith("error: salesradar-churn v1 was trained before training references")
    assert len(_results(root)) == 2  # nothing stored was removed
