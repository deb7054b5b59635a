"""``[promotion] require_shadow_runs``: the rule on its own (``shadow_rule``), inside ``decide``,
and the config key that sets it."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pytest

from training.config import DEFAULT_CONFIG_PATH, ConfigError, load_config
from training.monitoring.shadow import ShadowEvidence, shadow_evidence
from training.promotion import decide, shadow_rule


def _evidence(runs: int, challenger: float, champion: float, metric: str = "pr_auc"):  # type: ignore[no-untyped-def]
    return ShadowEvidence(
        runs=runs, entities=4812, champion={metric: champion}, challenger={metric: challenger}
    )


def _rule(required: int, evidence: ShadowEvidence | None, metric: str = "pr_auc"):  # type: ignore[no-untyped-def]
    return shadow_rule(
        required=required,
        metric=metric,
        evidence=evidence,
        challenger_version="7",
        champion_version="5",
    )


def test_not_required_means_no_rule() -> None:
    assert _rule(0, None) is None


def test_too_few_matured_runs_refuse_with_the_count_and_the_key() -> None:
    assert _rule(3, None) == (
        False,
        "challenger v7 vs champion v5: compared on 0 matured shadow run(s), [promotion] "
        "require_shadow_runs = 3 (score with the challenger in shadow, then run 'salesradar "
        "monitor' once the runs' horizons close)",
    )
    passed, why = _rule(3, _evidence(2, 0.61, 0.57))
    assert not passed and "compared on 2 matured shadow run(s)" in why


def test_a_challenger_that_lost_is_refused_and_one_that_tied_or_won_passes() -> None:
    assert _rule(3, _evidence(3, 0.55, 0.57)) == (
        False,
        "challenger v7 vs champion v5: lost on pr_auc on 3 matured shadow runs (4,812 "
        "entities), 0.5500 vs 0.5700",
    )
    assert _rule(3, _evidence(3, 0.57, 0.57)) == (
        True,
        "challenger v7 vs champion v5: did not lose on pr_auc on 3 matured shadow runs (4,812 "
        "entities), 0.5700 vs 0.5700",
    )
    assert _rule(3, _evidence(4, 0.61, 0.57))[0]  # type: ignore[index]


def test_lower_is_better_metrics_and_nan_never_win() -> None:
    assert _rule(1, _evidence(1, 0.02, 0.03, "ece"), "ece")[0]  # type: ignore[index]
    assert not _rule(1, _evidence(1, 0.04, 0.03, "ece"), "ece")[0]  # type: ignore[index]
    passed, why = _rule(1, _evidence(1, math.nan, 0.57))  # type: ignore[misc]
    assert not passed and why.endswith(
        "pr_auc undefined (NaN) on 1 matured shadow run (4,812 entities)"
    )
    # Compared on other metrics only: the promotion metric is unknown, never a pass.
    assert not _rule(1, _evidence(1, 0.61, 0.57, "roc_auc"), "pr_auc")[0]  # type: ignore[index]


def test_without_a_champion_there_is_nothing_to_shadow() -> None:
    assert shadow_rule(
        required=2, metric="pr_auc", evidence=None, challenger_version="1", champion_version=None
    ) == (True, "no current champion: no shadow comparison required")


def test_decide_refuses_on_the_shadow_rule_alone_and_says_so() -> None:
    refusing, passing = _rule(2, _evidence(1, 0.61, 0.57)), _rule(1, _evidence(1, 0.61, 0.57))
    decisions = [
        decide(
            metric="pr_auc",
            margin=0.0,
            challenger=0.7,
            champion=0.6,
            baselines={"days": 0.5},
            leakage_passed=True,
            shadow=shadow,
        )
        for shadow in (refusing, passing)
    ]
    assert not decisions[0].promote
    assert decisions[0].reasons == (refusing[1],)  # type: ignore[index]
    assert decisions[1].promote and decisions[1].reasons[-1] == passing[1]  # type: ignore[index]


def test_the_tag_is_read_for_the_current_champion_only() -> None:
    tags = {"shadow.vs.5": '{"runs": 2, "entities": 10, "champion": {"pr_auc": 0.5}, '
            '"challenger": {"pr_auc": null}}'}  # fmt: skip
    evidence = shadow_evidence(tags, "5")
    assert evidence is not None and evidence.runs == 2 and evidence.entities == 10
    assert math.isnan(evidence.challenger["pr_auc"]) and evidence.champion["pr_auc"] == 0.5
    assert shadow_evidence(tags, "6") is None


def _config(tmp_path: Path, line: str) -> Path:
    path = tmp_path / "config.toml"
    shutil.copy(DEFAULT_CONFIG_PATH.with_name("wording.toml"), tmp_path / "wording.toml")
    text = DEFAULT_CONFIG_PATH.read_text()
    path.write_text(text.replace("require_shadow_runs = 0", line))
    return path


def test_the_config_key_is_read_checked_and_optional(tmp_path: Path) -> None:
    assert load_config(DEFAULT_CONFIG_PATH).promotion.require_shadow_runs == 0
    assert (
        load_config(_config(tmp_path, "require_shadow_runs = 3")).promotion.require_shadow_runs == 3
    )
    assert load_config(_config(tmp_path, "")).promotion.require_shadow_runs == 0
    with pytest.raises(ConfigError, match=r"promotion\.require_shadow_runs must be at least 0"):
        load_config(_config(tmp_path, "require_shadow_runs = -1"))
    with pytest.raises(ConfigError, match=r"promotion\.require_shadow_runs = 1\.5 has the wrong"):
        load_config(_config(tmp_path, "require_shadow_runs = 1.5"))
    with pytest.raises(ConfigError, match=r"unknown key\(s\) promotion\.require_shadow_run\b"):
        load_config(_config(tmp_path, "require_shadow_run = 2"))
