"""When the promotion rule prefers the logistic-regression model, it is what gets served.

A leads model is trained through ``salesradar train --promote`` on a generated CRM with
``[promotion] prefer_simple_margin = 1`` (trees can never beat the simple model by a whole unit
of ROC AUC). The run's logistic-regression model is registered as its own version and becomes
champion, and both aliases move to it (the trees are not left as a shadowed challenger);
``POST /v1/leads/score`` then answers with its probabilities and with reasons whose
contributions add up to its log-odds, checked against scikit-learn's own pipeline. The version
is first-class: ``models --card`` prints its own manager card (its tier rates on the test set,
recomputed here with scikit-learn), its run holds its own model card and plots, and its drift
reference profiles its own scores.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from mlflow import MlflowClient
from mlflow.models import Model
from sklearn.metrics import average_precision_score, roc_auc_score
from typer.testing import CliRunner

from features.cli.root import build_app
from features.contract.tasks import Task
from features.model.artifact_contract import CHALLENGER, CHAMPION
from features.model.linear_plan import is_linear
from features.model.reasons import explain
from features.model.tiers import DEFAULT_TIER_CUTOFFS, TIER_NAMES
from features.synthetic import DEFAULT_AS_OF, generate_crm
from serving.api.app import create_app
from serving.settings import Settings
from serving.store.keys import Role
from serving.wiring import build_services
from tests.training.test_pyfunc import KEY_CREATED_AT, _api_entity, _records
from training.config import DEFAULT_CONFIG_PATH, load_config
from training.drift import EventDrift, drift_report, seen_levels
from training.linear import LOGISTIC_KIND
from training.manager_card import MANAGER_CARD
from training.monitoring.monitor import load_monitored_version
from training.monitoring.reference import SCORE, numeric_profile
from training.promotion import SUPERSEDED_TAG, load_version
from training.simple_model import SOURCE_RUN_TAG
from training.tracking import TEST_FRAME_ARTIFACT, connect, resolve_tracking

pytestmark = pytest.mark.slow

NAME = "salesradar-leads"


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("simple")
    generate_crm(root / "export", leads=1200, customers=40, seed=3, as_of=DEFAULT_AS_OF, months=12)
    shipped = Path(__file__).parents[2] / "training"
    text = (shipped / "config.toml").read_text()
    assert "prefer_simple_margin = 0.0" in text
    config = root / "config.toml"
    config.write_text(
        text.replace("n_estimators = 250", "n_estimators = 40")
        .replace("prefer_simple_margin = 0.0", "prefer_simple_margin = 1.0")
        .replace("serve_simple_model = false", "serve_simple_model = true")
    )
    config.with_name("wording.toml").write_text((shipped / "wording.toml").read_text())
    models = root / "models"
    result = CliRunner().invoke(
        build_app(),
        ["train", "leads", "--data", str(root / "export"), "--as-of",
         DEFAULT_AS_OF.isoformat(), "--models-dir", str(models), "--config", str(config),
         "--promote"],
        env={"COLUMNS": "250"},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    yield {"root": root, "models": models, "output": result.output}
    mlflow.set_tracking_uri(None)


def test_promotion_registers_the_simple_model_and_makes_it_champion(
    trained: dict[str, Any],
) -> None:
    client = connect(resolve_tracking(models_dir=trained["models"], environ={}))
    trees = client.get_model_version(NAME, "1")
    champion = client.get_model_version_by_alias(NAME, CHAMPION)
    assert str(champion.version) == "2"
    assert champion.tags["model_kind"] == LOGISTIC_KIND
    assert champion.tags[SOURCE_RUN_TAG] == trees.run_id
    decision = client.get_run(trees.run_id).data.tags["promotion.reasons"]
    assert "the simpler model is preferred" in decision
    assert "logistic regression registered as version 2 and made champion" in decision
    assert "not served" not in decision
    # The alias rule: the trees lost to the simpler model, so they are not left as the
    # challenger a batch run would score in shadow; both aliases name the served version, as
    # after any promotion, and the decision is recorded on it too.
    assert str(client.get_model_version_by_alias(NAME, CHALLENGER).version) == "2"
    assert trees.tags[SUPERSEDED_TAG] == "2"
    assert champion.tags["promotion.decision"] == "promoted"
    assert client.get_run(champion.run_id).data.tags["promotion.reasons"] == decision


def _champion_and_test(trained: dict[str, Any], client: MlflowClient) -> tuple[Any, pd.DataFrame]:
    """The served logistic regression (loaded from the registry) and its run's test rows."""
    champion = client.get_model_version_by_alias(NAME, CHAMPION)
    model = load_version(client, champion, trained["root"] / "champion")
    test = pd.read_parquet(
        client.download_artifacts(champion.run_id, TEST_FRAME_ARTIFACT, str(trained["root"]))
    )
    return model, test


def test_models_card_prints_the_simple_champions_own_card(trained: dict[str, Any]) -> None:
    client = connect(resolve_tracking(models_dir=trained["models"], environ={}))
    model, test = _champion_and_test(trained, client)
    assert model.metadata["model_kind"] == LOGISTIC_KIND
    result = CliRunner().invoke(
        build_app(), ["models", "--card", "leads", "--models-dir", str(trained["models"])]
    )
    assert result.exit_code == 0, result.output
    card = result.output
    assert "Model salesradar-leads version 2, a logistic regression, trained as of" in card
    # Its tier rates on the temporal test set, recomputed with scikit-learn's own pipeline.
    labels = test["label"].to_numpy(dtype="int64")
    proba = model.estimator.predict_proba(test[model.feature_names])[:, 1]
    high, medium = DEFAULT_TIER_CUTOFFS[Task.LEADS]
    for name, rows in zip(
        TIER_NAMES[Task.LEADS],
        (proba >= high, (proba >= medium) & (proba < high), proba < medium),
        strict=True,
    ):
        realised = f"{100 * labels[rows].mean():.0f}%" if rows.any() else "-"
        expected = f"{100 * proba[rows].mean():.0f}%" if rows.any() else "-"
        assert f"| {name} | {int(rows.sum()):,} | {realised} | {expected} |" in card, card
    # ... which are not the trees' (their card is the training run's own).
    trees_card = client.download_artifacts(
        client.get_model_version(NAME, "1").run_id, MANAGER_CARD, str(trained["root"] / "t")
    )
    top = TIER_NAMES[Task.LEADS][0]
    tiers = [line for line in card.splitlines() if line.startswith(f"| {top} |")]
    assert tiers and tiers[0] not in Path(trees_card).read_text()


def test_the_simple_versions_run_has_its_own_model_card_and_plots(
    trained: dict[str, Any],
) -> None:
    client = connect(resolve_tracking(models_dir=trained["models"], environ={}))
    model, test = _champion_and_test(trained, client)
    champion = client.get_model_version_by_alias(NAME, CHAMPION)
    trees_run = client.get_model_version(NAME, "1").run_id
    card = client.download_artifacts(champion.run_id, "model_card.md", str(trained["root"] / "m"))
    text = Path(card).read_text()
    assert text.startswith("# Model card: leads (logistic regression)")
    labels = test["label"].to_numpy(dtype="int64")
    proba = model.estimator.predict_proba(test[model.feature_names])[:, 1]
    roc, pr = roc_auc_score(labels, proba), average_precision_score(labels, proba)
    assert f"| model | {roc:.3f} | {pr:.3f} |" in text, text
    assert "| trees |" in text and "| logistic |" not in text
    plots = {a.path for a in client.list_artifacts(champion.run_id, "plots")}
    trees_plots = {a.path for a in client.list_artifacts(trees_run, "plots")}
    assert plots == trees_plots and len(plots) >= 10
    ours = Path(client.download_artifacts(champion.run_id, "plots/roc.png", str(trained["root"])))
    theirs = Path(client.download_artifacts(trees_run, "plots/roc.png", str(trained["root"] / "x")))
    assert ours.read_bytes() != theirs.read_bytes()


def test_the_simple_champions_drift_reference_is_its_own(trained: dict[str, Any]) -> None:
    client = connect(resolve_tracking(models_dir=trained["models"], environ={}))
    model, test = _champion_and_test(trained, client)
    champion = client.get_model_version_by_alias(NAME, CHAMPION)
    # What `salesradar monitor` loads for the version: its reference profiles ITS scores on
    # the reference rows (here the test cutoff, the last the trees shipped on).
    loaded = load_monitored_version(client, NAME, str(champion.version), trained["root"] / "r")
    assert loaded.reference["cutoff"] == str(test["cutoff"].max().date())
    scores = model.estimator.predict_proba(test[model.feature_names])[:, 1]
    bins = loaded.reference["bins"]
    expected = numeric_profile(scores, bins=bins)
    assert loaded.reference["features"][SCORE]["edges"] == pytest.approx(expected["edges"])
    assert loaded.reference["features"][SCORE]["counts"] == expected["counts"]
    # So the score of a run scoring those same rows has not drifted against it: PSI 0.
    report = drift_report(
        loaded.reference,
        test[model.feature_names],
        scores,
        events=EventDrift(0, 0, ()),
        feature_names=model.feature_names,
        seen=seen_levels(model),
        config=load_config(DEFAULT_CONFIG_PATH).monitoring,
    )
    assert report.score.psi == pytest.approx(0.0, abs=1e-9)
    trees = load_monitored_version(client, NAME, "1", trained["root"] / "t1")
    assert trees.reference["features"][SCORE] != loaded.reference["features"][SCORE]


def test_the_api_serves_the_simple_champion_with_reasons_adding_up_to_its_log_odds(
    trained: dict[str, Any],
) -> None:
    root, models = trained["root"], trained["models"]
    tracking_uri = f"sqlite:///{models / 'mlflow.db'}"
    mlflow.set_tracking_uri(tracking_uri)
    scorer_dir = mlflow.artifacts.download_artifacts(
        f"models:/{NAME}@{CHAMPION}", dst_path=str(root / "dl")
    )
    example = Model.load(scorer_dir).load_input_example(scorer_dir)
    assert isinstance(example, pd.DataFrame)
    settings = Settings(
        scores_url=f"sqlite:///{root / 'scores.db'}",
        served_dir=root / "served",
        mlflow_tracking_uri=tracking_uri,
        poll_seconds=0,
        gc_freeze=False,
    )
    seen: list[tuple[Any, Any, np.ndarray]] = []

    def recording_explain(model: Any, frame: Any, contributions: np.ndarray, **kw: Any) -> Any:
        seen.append((model, frame, contributions))  # a spy: the real explainer answers
        return explain(model, frame, contributions, **kw)

    services = dataclasses.replace(build_services(settings), explain=recording_explain)
    loaded = {r.task.value: r for r in services.models.reload()}
    assert loaded["leads"].outcome == "loaded", loaded["leads"].error
    _, token = services.keys.create(
        role=Role.CRM, owner_id=None, label="t", created_at=KEY_CREATED_AT
    )
    records = _records(example)
    body = {"as_of": records[0]["as_of"], "leads": [_api_entity(r) for r in records]}
    with TestClient(create_app(services, load_models=False)) as client:
        seen.clear()  # the warm-up pass explains one made-up row
        response = client.post(
            "/v1/leads/score", json=body, headers={"Authorization": f"Bearer {token}"}
        )
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    ((model, frame, contributions),) = seen
    assert model.metadata["model_kind"] == LOGISTIC_KIND and is_linear(model.pipeline)
    features = (frame.to_frame() if hasattr(frame, "to_frame") else frame)[model.feature_names]
    # scikit-learn's own numbers: the calibrated pipeline's probability, the regression's
    # log-odds, which every row's contributions (features + bias) add up to.
    expected = model.estimator.predict_proba(features)[:, 1]
    log_odds = model.pipeline.decision_function(features)
    np.testing.assert_allclose(contributions.sum(axis=1), log_odds, atol=1e-9)
    assert [r["probability"] for r in results] == pytest.approx(expected.tolist(), abs=1e-12)
    for row, result in enumerate(results):
        assert result["reasons"]
        for reason in result["reasons"]:
            column = model.feature_names.index(reason["feature"])
            assert reason["contribution"] == pytest.approx(contributions[row, column], abs=1e-12)
