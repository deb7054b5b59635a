"""When the promotion rule prefers the logistic-regression model, it is what gets served.

A leads model is trained through ``salesradar train --promote`` on a generated CRM with
``[promotion] prefer_simple_margin = 1`` (trees can never beat the simple model by a whole unit
of ROC AUC). The run's logistic-regression model is registered as its own version and becomes
champion; ``POST /v1/leads/score`` then answers with its probabilities and with reasons whose
contributions add up to its log-odds, checked against scikit-learn's own pipeline.
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
from mlflow.models import Model
from typer.testing import CliRunner

from features.artifact_contract import CHALLENGER, CHAMPION
from features.cli import build_app
from features.linear_plan import is_linear
from features.reasons import explain
from features.synthetic import DEFAULT_AS_OF, generate_crm
from serving.app import create_app
from serving.keys import Role
from serving.settings import Settings
from serving.wiring import build_services
from tests.training.test_pyfunc import KEY_CREATED_AT, _api_entity, _records
from training.linear import LOGISTIC_KIND
from training.simple_model import SOURCE_RUN_TAG
from training.tracking import connect, resolve_tracking

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
    trees = client.get_model_version_by_alias(NAME, CHALLENGER)
    champion = client.get_model_version_by_alias(NAME, CHAMPION)
    assert (str(trees.version), str(champion.version)) == ("1", "2")
    assert champion.tags["model_kind"] == LOGISTIC_KIND
    assert champion.tags[SOURCE_RUN_TAG] == trees.run_id
    decision = client.get_run(trees.run_id).data.tags["promotion.reasons"]
    assert "the simpler model is preferred" in decision
    assert "logistic regression registered as version 2 and made champion" in decision
    assert "not served" not in decision


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
