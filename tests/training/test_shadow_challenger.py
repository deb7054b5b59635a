"""The shadow challenger end to end: a CRM cut at an earlier time is trained on twice (a champion,
then a challenger), scored with the challenger in shadow, and judged on the full (later) export.

The comparison is recomputed here from the later files; every rep-facing surface of the run
with a shadow is the same as that of the same run scored with ``--no-shadow``; a challenger
whose artifact fails verification is recorded while the champion's run is published; and
``[promotion] require_shadow_runs`` refuses the challenger until monitor compared it, then
accepts it.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from mlflow import MlflowClient
from sklearn.metrics import average_precision_score, roc_auc_score

from features.model.artifact_contract import SHA256_TAG_PREFIX
from serving.api.app import create_app
from serving.store.database import ScoreStore
from tests.serving.appkit import FolderChampions, auth, build_test_services, create_keys
from tests.training.pipelinekit import cli_world, invoke
from tests.training.test_monitoring_outcomes import _churn_labels, cut_export
from training.metrics import expected_calibration_error

pytestmark = pytest.mark.slow

LATE = datetime(2026, 10, 1)
CLOSED = datetime(2026, 6, 15)  # its 90-day window closes before LATE: matured
EARLY = datetime(2026, 3, 15)  # the champion's training as-of
HORIZON = timedelta(days=90)
MODEL = "salesradar-churn"


def _ok(args: list[str], env: dict[str, str]) -> str:
    code, output = invoke(args, env)
    assert code == 0, output
    return output


def _with_shadow_rule(config: Path, runs: int) -> Path:
    """A copy of ``config`` requiring ``runs`` matured shadow runs."""
    path = config.with_name(f"config-shadow-{runs}.toml")
    text = config.read_text()
    assert "require_shadow_runs = 0" in text
    path.write_text(text.replace("require_shadow_runs = 0", f"require_shadow_runs = {runs}"))
    return path


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    root = tmp_path_factory.mktemp("shadow")
    late = root / "late"
    from features.synthetic import generate_crm

    generate_crm(late, leads=100, customers=1500, seed=5, as_of=LATE, months=18, truth=False)
    cut_export(late, root / "early", EARLY)
    cut_export(late, root / "closed", CLOSED)
    env, common = cli_world(root)
    config = Path(common[1])
    shadow_one = _with_shadow_rule(config, 1)
    with_rule = ["--config", str(shadow_one), "--models-dir", common[3]]
    # v1: the champion, trained as of EARLY; v2: the challenger, trained as of CLOSED.
    _ok(["train", "churn", "--data", str(root / "early"), "--as-of", EARLY.isoformat(),
         "--promote", *common], env)  # fmt: skip
    _ok(["train", "churn", "--data", str(root / "closed"), "--as-of", CLOSED.isoformat(),
         *common], env)  # fmt: skip
    refused = _ok(["promote", "churn", *with_rule], env)

    # The same run without a shadow, in its own database: what reps must see either way.
    plain_env = {**env, "SALESRADAR_SCORES_URL": f"sqlite:///{root / 'plain' / 'scores.db'}"}
    (root / "plain").mkdir()
    plain = _ok(
        ["score", "--data", str(root / "closed"), "--as-of", CLOSED.isoformat(), "--no-shadow"],
        plain_env,
    )
    # A challenger whose artifact no longer matches its recorded hash, in a third database.
    client = MlflowClient(tracking_uri=env["MLFLOW_TRACKING_URI"])
    version = client.get_model_version_by_alias(MODEL, "challenger")
    tag = next(k for k in version.tags if k.startswith(SHA256_TAG_PREFIX))
    client.set_model_version_tag(MODEL, version.version, tag, "0" * 64)
    broken_env = {**env, "SALESRADAR_SCORES_URL": f"sqlite:///{root / 'broken' / 'scores.db'}"}
    (root / "broken").mkdir()
    try:
        broken = _ok(["score", "--data", str(root / "closed"), "--as-of", CLOSED.isoformat()],
                     broken_env)  # fmt: skip
    finally:
        client.set_model_version_tag(MODEL, version.version, tag, version.tags[tag])

    scored = _ok(["score", "--data", str(root / "closed"), "--as-of", CLOSED.isoformat()], env)
    monitored = _ok(["monitor", "--data", str(late), *common], env)
    accepted = _ok(["promote", "churn", *with_rule], env)
    return {
        "root": root,
        "late": late,
        "env": env,
        "refused": refused,
        "plain": plain,
        "broken": broken,
        "scored": scored,
        "monitored": monitored,
        "accepted": accepted,
        "client": client,
    }


def _read(db: Path, query: str) -> pd.DataFrame:
    with sqlite3.connect(db) as conn:
        return pd.read_sql(query, conn)


def test_the_challenger_is_scored_and_stored_as_the_runs_shadow(world: dict[str, object]) -> None:
    root = Path(str(world["root"]))
    champion = _read(root / "scores.db", "SELECT * FROM scores ORDER BY entity_id")
    runs = _read(root / "scores.db", "SELECT * FROM shadow_runs")
    shadow = _read(root / "scores.db", "SELECT * FROM shadow_scores ORDER BY entity_id")
    assert runs[["entity_kind", "model_version", "status", "row_count"]].to_dict("records") == [
        {"entity_kind": "customer", "model_version": "2", "status": "scored",
         "row_count": len(champion)}
    ]  # fmt: skip
    assert set(champion["model_version"]) == {"1"}
    # Linked to the published run, same entities, and a different model's probabilities.
    assert set(shadow["run_id"]) == set(champion["run_id"]) == set(runs["run_id"])
    assert shadow["entity_id"].tolist() == champion["entity_id"].tolist()
    assert not (shadow["probability"] == champion["probability"]).all()
    assert "shadow: churn: challenger salesradar-churn v2 scored in shadow (1" in " ".join(
        str(world["scored"]).split()
    )


def _listing(db_folder: Path) -> list[dict[str, object]]:
    """The CRM's whole at-risk list of the published run, every tier, through ``/v1``."""
    services = build_test_services(db_folder, FolderChampions())
    with TestClient(create_app(services, load_models=False)) as client:
        keys = create_keys(services)
        page = client.get(
            "/v1/lists/at-risk?limit=500&tier=high&tier=medium&tier=low", headers=auth(keys["crm"])
        )
    assert page.status_code == 200, page.text
    items = page.json()["items"]
    return [
        {k: v for k, v in item.items() if k not in ("run_id", "published_at")} for item in items
    ]


def test_the_shadow_is_invisible_to_every_rep_facing_surface(world: dict[str, object]) -> None:
    root = Path(str(world["root"]))
    shadowed, plain = (
        ScoreStore.from_url(f"sqlite:///{root / 'scores.db'}"),
        ScoreStore.from_url(f"sqlite:///{root / 'plain' / 'scores.db'}"),
    )
    for store in (shadowed, plain):
        store.create_schema()
    with_shadow = shadowed.list_scores("customer", limit=5000, tiers=None)
    without = plain.list_scores("customer", limit=5000, tiers=None)
    assert with_shadow.total == without.total > 0
    fields = ("entity_id", "probability", "score", "tier", "value", "reasons", "model_version")
    assert [[getattr(i, f) for f in fields] for i in with_shadow.items] == [
        [getattr(i, f) for f in fields] for i in without.items
    ]
    some = with_shadow.items[0].entity_id
    latest, history = shadowed.latest("customer", some), shadowed.history("customer", some)
    assert latest is not None and latest.model_version == "1"
    assert [h.model_version for h in history] == ["1"]
    # The HTTP API (lists; pages and digests read the same store methods) and the write-back.
    assert _listing(root) == _listing(root / "plain")
    files = []
    for folder in (root, root / "plain"):
        out = folder / "writeback.csv"
        env = {**world["env"], "SALESRADAR_SCORES_URL": f"sqlite:///{folder / 'scores.db'}"}  # type: ignore[dict-item]
        _ok(["export-scores", "--format", "csv", "--kind", "customer", "--out", str(out)], env)
        files.append(pd.read_csv(out).drop(columns=["run_id"], errors="ignore"))
    pd.testing.assert_frame_equal(files[0], files[1])
    assert "shadow" not in str(world["plain"])


def test_a_broken_challenger_does_not_block_the_champions_publish(
    world: dict[str, object],
) -> None:
    root = Path(str(world["root"]))
    db = root / "broken" / "scores.db"
    published = _read(db, "SELECT run_id FROM score_runs WHERE status = 'published'")
    assert len(published) == 1
    assert len(_read(db, "SELECT * FROM scores")) > 0
    runs = _read(db, "SELECT * FROM shadow_runs")
    assert runs[["run_id", "status", "row_count"]].to_dict("records") == [
        {"run_id": published["run_id"][0], "status": "failed", "row_count": 0}
    ]
    assert runs["reason"][0].startswith("cannot load: ")
    assert _read(db, "SELECT count(*) AS n FROM shadow_scores")["n"][0] == 0
    output = " ".join(str(world["broken"]).split())
    assert "warning: shadow: churn: challenger salesradar-churn v2 failed: cannot load:" in output


def test_the_comparison_agrees_with_a_direct_computation(world: dict[str, object]) -> None:
    root, late = Path(str(world["root"])), Path(str(world["late"]))
    stored = _read(root / "scores.db", "SELECT * FROM shadow_results")
    assert len(stored) == 1
    row = stored.iloc[0]
    assert (row["champion_version"], row["challenger_version"]) == ("1", "2")
    champion = _read(root / "scores.db", "SELECT entity_id, probability FROM scores")
    shadow = _read(root / "scores.db", "SELECT entity_id, probability FROM shadow_scores")
    both = champion.merge(shadow, on="entity_id", suffixes=("_champion", "_challenger"))
    labels = _churn_labels(late, both["entity_id"], CLOSED, CLOSED + HORIZON)
    assert row["matched"] == len(both) and row["positives"] == int(labels.sum())
    expected = {}
    for side in ("champion", "challenger"):
        proba = both[f"probability_{side}"]
        top = both.assign(label=labels.to_numpy()).sort_values(
            f"probability_{side}", ascending=False, kind="stable"
        )
        expected[side] = {
            "roc_auc": roc_auc_score(labels, proba),
            "pr_auc": average_precision_score(labels, proba),
            "ece": expected_calibration_error(labels.to_numpy(), proba.to_numpy(), bins=10),
            "precision_at_k": top["label"].head(200).mean(),
        }
        figures = json.loads(row[side])
        for metric, value in expected[side].items():
            assert figures[metric] == pytest.approx(value), (side, metric)
    # The manager's sentence and the challenger version's tag promote reads.
    sentence = (
        f"challenger v2 vs champion v1 on 1 matured run ({len(both):,} customers): ROC AUC "
        f"{expected['challenger']['roc_auc']:.3f} vs {expected['champion']['roc_auc']:.3f}, "
        f"PR AUC {expected['challenger']['pr_auc']:.3f} vs {expected['champion']['pr_auc']:.3f}"
    )
    assert sentence in " ".join(str(world["monitored"]).split())
    client = world["client"]
    assert isinstance(client, MlflowClient)
    tags = client.get_model_version(MODEL, "2").tags
    assert json.loads(tags["shadow.vs.1"])["runs"] == 1
    monitoring = client.get_run(str(row["mlflow_run_id"])).data.metrics
    assert monitoring["shadow.challenger.pr_auc"] == pytest.approx(expected["challenger"]["pr_auc"])


def test_promotion_waits_for_the_shadow_comparison_then_accepts(
    world: dict[str, object],
) -> None:
    refused = " ".join(str(world["refused"]).split())
    assert refused.startswith("not promoted:")
    assert (
        "challenger v2 vs champion v1: compared on 0 matured shadow run(s), [promotion] "
        "require_shadow_runs = 1" in refused
    )
    accepted = " ".join(str(world["accepted"]).split())
    assert accepted.startswith("promoted to champion:"), accepted
    assert "challenger v2 vs champion v1: did not lose on roc_auc on 1 matured shadow run (" in (
        accepted
    )
    client = world["client"]
    assert isinstance(client, MlflowClient)
    assert str(client.get_model_version_by_alias(MODEL, "champion").version) == "2"
