"""The manager card: figures recomputed from the evaluation's own scores, the lists' ranking, plain
words with ISO dates, monitoring rows rendered in, and the card logged, read back and refreshed
through MLflow and `salesradar models --card`."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from features.cli.root import build_app
from features.contract.tasks import Task
from features.model.artifact_contract import CHAMPION
from training.card_artifacts import champion_card, read_facts, refresh_manager_card
from training.config import TrainingConfig
from training.manager_card import (
    card_facts,
    list_order,
    money_at_capacity,
    monitored_outcomes,
    render_manager_card,
)
from training.tracking import connect, log_trained_task, resolve_tracking
from training.trainer import TrainedTask

AS_OF = datetime(2025, 12, 1)
NAME = "salesradar-churn"


def test_lists_order_ranks_by_weighted_value_unknown_last_ties_by_probability() -> None:
    probability = np.array([0.9, 0.2, 0.5, 0.6, 0.3])
    values = np.array([100.0, 1000.0, np.nan, 10.0, 600.0])
    # weighted: 90, 200, unknown, 6, 180
    assert list_order(probability, values).tolist() == [1, 4, 0, 3, 2]
    tie = list_order(np.array([0.1, 0.4]), np.array([400.0, 100.0]))
    assert tie.tolist() == [1, 0]  # both weigh 40: the likelier first


def test_money_at_capacity_by_hand() -> None:
    probability = np.array([0.9, 0.2, 0.5, 0.6])
    values = np.array([100.0, 1000.0, np.nan, 10.0])
    labels = np.array([1, 1, 0, 1])
    money = money_at_capacity(labels, probability, values, capacity=2)
    # the top two by value weighting: rows 1 (200) and 0 (90)
    assert money == {
        "worked": 2,
        "expected_value": pytest.approx(290.0),
        "positives": 2,
        "realised_value": 1100.0,
        "realised_share": pytest.approx(1100.0 / 1110.0),
    }


def test_facts_recompute_from_the_evaluation(trained: TrainedTask) -> None:
    facts = card_facts(trained, capacity=50, as_of=AS_OF, model_name=NAME, version="4")
    evaluation = trained.evaluation
    assert evaluation is not None
    scores = evaluation.scores
    shown = np.rint(100 * scores.model)
    band = (shown >= 65) & (shown <= 75)
    assert facts["evaluation"]["band_test"]["entities"] == int(band.sum())
    assert facts["evaluation"]["band_test"]["positives"] == int(scores.labels[band].sum())
    high = scores.model >= 0.5
    top = facts["evaluation"]["tiers_test"][0]
    assert (top["tier"], top["entities"]) == ("high", int(high.sum()))
    assert top["realised_rate"] == pytest.approx(scores.labels[high].mean())
    assert sum(t["entities"] for t in facts["evaluation"]["tiers_test"]) == len(scores.labels)
    pooled = sum(len(o.labels) for o in evaluation.origin_scores)
    assert sum(t["entities"] for t in facts["evaluation"]["tiers_backtest"]) == pooled
    dates = [f"{row['cutoff']:%Y-%m-%d}" for row in evaluation.backtest]
    assert facts["evaluation"]["backtest_origins"] == dates
    assert [m["cutoff"] for m in facts["evaluation"]["money"]] == dates
    assert all(m["worked"] == 50 for m in facts["evaluation"]["money"])
    assert facts["trained_as_of"] == "2025-12-01T00:00:00Z"
    assert facts["first_cutoff"] == f"{trained.shipped_cutoffs[0]:%Y-%m-%d}"


def test_card_says_what_70_means_in_plain_words(trained: TrainedTask) -> None:
    facts = card_facts(trained, capacity=50, as_of=AS_OF, model_name=NAME, version="4")
    card = render_manager_card(facts)
    band = facts["evaluation"]["band_backtest"]
    assert "A score of 70 means a 70% chance" in card
    if band["entities"] >= 30:
        rate = f"{100 * band['realised_rate']:.0f}%"
        assert f"{band['positives']:,} of the {band['entities']:,} customers scored 65-75" in card
        assert rate in card
    for tier in facts["evaluation"]["tiers_test"]:
        assert f"| {tier['tier']} | {tier['entities']:,} |" in card
    assert "trained as of 2025-12-01T00:00:00Z" in card
    assert "No batch run of this version has been judged yet" in card
    assert "## Known limits" in card


def test_small_band_is_called_too_few(trained: TrainedTask) -> None:
    facts = card_facts(trained, capacity=50, as_of=AS_OF, model_name=NAME, version="4")
    facts["evaluation"]["band_test"] = {
        "entities": 4,
        "positives": 3,
        "realised_rate": 0.75,
        "expected_rate": 0.7,
    }
    assert "4 customers scored 65-75: too few to say" in render_manager_card(facts)


def test_untested_model_card_says_nothing_was_measured(untested: TrainedTask) -> None:
    card = render_manager_card(
        card_facts(untested, capacity=50, as_of=AS_OF, model_name=NAME, version="1")
    )
    assert "How good it is: not measured" in card
    assert "What a score of 70 means" not in card


def _result(version: str, as_of: datetime, *, partial: bool) -> dict[str, object]:
    return {
        "model_name": NAME,
        "model_version": version,
        "as_of": as_of,
        "outcome": {
            "as_of": as_of.isoformat(),
            "window_end": datetime(2026, 3, 1).isoformat() if partial else "2026-05-01T00:00:00",
            "horizon_days": 60,
            "partial": partial,
            "tiers": [
                {"tier": "high", "entities": 463, "realised_rate": 0.61, "expected_rate": 0.58},
                {"tier": "low", "entities": 900, "realised_rate": None, "expected_rate": 0.1},
            ],
        },
    }


def test_monitoring_rows_of_this_version_only_in_date_order() -> None:
    results = [
        _result("4", datetime(2026, 2, 1), partial=True),
        _result("3", datetime(2026, 1, 1), partial=False),
        _result("4", datetime(2026, 1, 1), partial=False),
    ]
    outcomes = monitored_outcomes(results, model_name=NAME, version="4")
    assert [o["as_of"] for o in outcomes] == ["2026-01-01T00:00:00", "2026-02-01T00:00:00"]


def test_card_renders_realised_tier_rates(trained: TrainedTask) -> None:
    facts = card_facts(trained, capacity=50, as_of=AS_OF, model_name=NAME, version="4")
    outcomes = monitored_outcomes(
        [_result("4", datetime(2026, 1, 1), partial=True)], model_name=NAME, version="4"
    )
    card = render_manager_card(facts, monitored=outcomes)
    assert (
        "- Scored 2026-01-01 (partial: 59 of 60 days so far): share of customers who churned "
        "(placed no order) per tier: high: 61% of 463 (expected 58%); low: - of 900 "
        "(expected 10%)." in card
    )
    assert "No batch run of this version has been judged yet" not in card


def test_card_is_logged_read_back_and_refreshed(
    trained: TrainedTask, config: TrainingConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    tracking = resolve_tracking(models_dir=tmp_path / "models", environ={})
    registered = log_trained_task(
        trained, config=config, tracking=tracking, data_source="factory", as_of=AS_OF
    )
    client = connect(tracking)
    artifacts = {a.path for a in client.list_artifacts(registered.run_id)}
    assert {"manager_card.md", "manager_card.json", "model_card.md"} <= artifacts
    plots = {Path(a.path).name for a in client.list_artifacts(registered.run_id, "plots")}
    assert {"lift_by_decile.png", "shap_beeswarm.png", "calibration_by_segment.png"} <= plots
    facts = read_facts(client, registered.run_id)
    assert (
        facts["version"] == registered.version and facts["trained_as_of"] == "2025-12-01T00:00:00Z"
    )
    rate = facts["evaluation"]["band_test"]["realised_rate"]  # NaN is stored as null
    assert rate is None or 0 <= rate <= 1
    client.set_registered_model_alias(NAME, CHAMPION, registered.version)
    monitored = [_result(registered.version, datetime(2026, 1, 1), partial=False)]
    assert "high: 61% of 463" in champion_card(client, Task.CHURN, results=monitored)
    refresh_manager_card(client, model_name=NAME, version=registered.version, results=monitored)
    local = client.download_artifacts(registered.run_id, "manager_card.md", str(tmp_path))
    assert "high: 61% of 463" in Path(local).read_text(encoding="utf-8")
    monkeypatch.setenv("SALESRADAR_SCORES_URL", f"sqlite:///{tmp_path / 'none.db'}")
    result = CliRunner().invoke(
        build_app(), ["models", "--card", "churn", "--models-dir", str(tmp_path / "models")]
    )
    assert result.exit_code == 0, result.output
    assert result.output.startswith("# At-risk list: what the churn model's scores mean")
    assert not (tmp_path / "none.db").exists()  # reading never creates a scores database
    saved = CliRunner().invoke(
        build_app(),
        ["models", "--card", "churn", "--save", str(tmp_path / "out"), "--models-dir",
         str(tmp_path / "models")],
    )  # fmt: skip
    assert saved.exit_code == 0, saved.output
    written = {p.name for p in (tmp_path / "out").iterdir()}
    assert {"churn_manager_card.md", "churn_value_gains.png", "churn_shap_beeswarm.png"} <= written
    assert (tmp_path / "out" / "churn_manager_card.md").read_text(encoding="utf-8") == result.output
    missing = CliRunner().invoke(
        build_app(), ["models", "--card", "leads", "--models-dir", str(tmp_path / "models")]
    )
    assert missing.exit_code != 0 and "salesradar-leads has no champion" in missing.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["models", "--save", "out"], "--save writes a manager card: pass --card TASK with it"),
        (["models", "churn", "--card", "churn"], "pass either a task to list or --card TASK"),
    ],
)
def test_card_options_are_checked_before_the_store(
    args: list[str], message: str, tmp_path: Path
) -> None:
    result = CliRunner().invoke(build_app(), [*args, "--models-dir", str(tmp_path / "nothing")])
    assert result.exit_code == 2 and message in result.output


def test_the_readme_excerpt_is_the_card_make_readme_figures_wrote() -> None:
    # The README quotes docs/img/churn_manager_card.md (written by `make readme-figures`) with
    # its headings one level down; a regenerated card with an unedited README fails here.
    root = Path(__file__).parents[2]
    card = (root / "docs" / "img" / "churn_manager_card.md").read_text(encoding="utf-8")
    readme = (root / "README.md").read_text(encoding="utf-8")
    quoted = [
        line.removeprefix(">").strip().replace("#### ", "## ", 1)
        for line in readme.split("## What a sales manager reads", 1)[1].splitlines()
        if line.startswith(">")
    ]
    assert len([line for line in quoted if line.startswith("|")]) >= 5, quoted
    lines = set(card.splitlines())
    assert [line for line in quoted if line and line not in lines] == []
