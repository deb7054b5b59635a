"""What changed between two stored scores: exact terms from stored contributions, movers that
point the way the score moved, "model changed" instead of a false split."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from serving.scoring.changes import decompose, describe_change, sum_tolerance
from serving.store.database import FeatureInfo, RunDetail, ScoreDetail, StoredScore
from tests.serving.store.test_store import row

FEATURES = (
    FeatureInfo("days_since_last_order", "days", "Days since the last order", "recency"),
    FeatureInfo("orders_90d", "count", "Orders in the last 90 days", "activity"),
    FeatureInfo("plan", "category", "Plan (customer attribute)", "attribute"),
)


def reason(feature: str, contribution: float) -> dict[str, Any]:
    return {"feature": feature, "value": 1.0, "contribution": contribution, "text": feature}


def stored(
    probability: float, reasons: list[dict[str, Any]] | None = None, *, version: str = "3"
) -> StoredScore:
    score = row("c1", probability, reasons=reasons or [reason("a", 0.1)])
    return StoredScore(**{**score.__dict__, "model_version": version})


def detail(
    contributions: list[float], numbers: list[float], plan: str | None, *, version: str = "3"
) -> RunDetail:
    """Contributions per FEATURES then the bias; raw margin their float64 sum."""
    values = np.array(contributions)
    return RunDetail(
        ScoreDetail(float(values.sum()), values, np.array(numbers), {"plan": plan}),
        FEATURES,
        "salesradar-churn",
        version,
    )


BEFORE = detail([-0.4, 0.2, 0.3, -1.0], [12.0, 3.0, np.nan], "basic")
AFTER = detail([0.5, 0.35, -0.05, -1.0], [64.0, 0.0, np.nan], "pro")


def test_the_terms_add_up_to_the_change_in_log_odds_and_movers_follow_its_direction() -> None:
    terms = decompose(AFTER, BEFORE)
    margin = AFTER.detail.raw_margin - BEFORE.detail.raw_margin
    assert abs(sum(t.change for t in terms) - margin) <= sum_tolerance(AFTER, BEFORE) + 1e-15
    change = describe_change(stored(0.6), stored(0.4), latest_detail=AFTER, previous_detail=BEFORE)
    assert change is not None and change["exact"] and not change["model_changed"]
    assert change["margin_delta"] == margin
    # Up by 0.6 log-odds: the two terms that raised it, largest first; plan (down) is left out.
    assert [(m["feature"], m["text"]) for m in change["movers"]] == [
        ("days_since_last_order", "Days since the last order: was 12 days, now 64 days"),
        ("orders_90d", "Orders in the last 90 days: was 3, now 0"),
    ]
    fell = describe_change(stored(0.4), stored(0.6), latest_detail=BEFORE, previous_detail=AFTER)
    assert fell is not None
    assert [(m["feature"], m["previous_value"], m["value"]) for m in fell["movers"]] == [
        ("days_since_last_order", 64.0, 12.0),
        ("orders_90d", 0.0, 3.0),
    ]
    assert all(m["change"] < 0 for m in fell["movers"])


def test_a_categorical_mover_reads_its_levels() -> None:
    after = detail([-0.4, 0.2, 0.9, -1.0], [12.0, 3.0, np.nan], "pro")
    change = describe_change(stored(0.5), stored(0.4), latest_detail=after, previous_detail=BEFORE)
    assert change is not None
    assert change["movers"][0]["text"] == "Plan (customer attribute): was basic, now pro"


def test_a_new_model_version_says_so_instead_of_splitting_the_change() -> None:
    newer = replace(AFTER, model_version="4")
    change = describe_change(
        stored(0.6, version="4"), stored(0.4), latest_detail=newer, previous_detail=BEFORE
    )
    assert change is not None and change["model_changed"] and not change["exact"]
    assert change["movers"] == [] and change["margin_delta"] is None
    assert change["previous_model"] == {"name": "salesradar-churn", "version": "3"}
    # Without recorded contributions, a version change still says so (no reason movers).
    bare = describe_change(
        stored(0.6, version="4"), stored(0.4), latest_detail=None, previous_detail=None
    )
    assert bare is not None and bare["model_changed"] and bare["movers"] == []


def test_the_same_version_with_another_feature_list_is_a_changed_model() -> None:
    other = replace(AFTER, features=(*FEATURES[:2], replace(FEATURES[2], name="region")))
    change = describe_change(stored(0.6), stored(0.4), latest_detail=other, previous_detail=BEFORE)
    assert change is not None and change["model_changed"] and change["movers"] == []


# --- runs written before contributions were stored: the top reasons, not exact ---------------


def test_a_score_that_rose_is_explained_by_the_moves_that_raised_it() -> None:
    # 49 -> 51: the three biggest moves pushed it down, two smaller ones up (issue 10's example:
    # all three movers listed pointed down).
    before = stored(0.49, [reason("a", 0.9), reason("b", 0.8), reason("c", 0.7)])
    after = stored(
        0.51,
        [reason("a", 0.4), reason("b", 0.3), reason("c", 0.2), reason("d", 0.45), reason("e", 0.4)],
    )
    change = describe_change(after, before, latest_detail=None, previous_detail=None)
    assert change is not None and change["score_delta"] == 2 and not change["exact"]
    assert [m["feature"] for m in change["movers"]] == ["d", "e"]
    fell = describe_change(before, after, latest_detail=None, previous_detail=None)
    assert fell is not None and [m["feature"] for m in fell["movers"]] == ["d", "e"]
    assert all(m["change"] < 0 for m in fell["movers"])


def test_an_unmoved_score_lists_the_largest_moves_either_way() -> None:
    before = stored(0.5, [reason("a", 0.9), reason("b", -0.2)])
    after = stored(0.5, [reason("a", 0.1), reason("b", 0.3)])
    change = describe_change(after, before, latest_detail=None, previous_detail=None)
    assert change is not None and [m["feature"] for m in change["movers"]] == ["a", "b"]
