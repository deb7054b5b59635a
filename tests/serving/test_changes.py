"""What changed between two stored scores: movers point the way the score moved."""

from __future__ import annotations

from typing import Any

from serving.changes import describe_change
from serving.store import StoredScore
from tests.serving.test_store import row


def reason(feature: str, contribution: float) -> dict[str, Any]:
    return {"feature": feature, "value": 1.0, "contribution": contribution, "text": feature}


def stored(probability: float, reasons: list[dict[str, Any]]) -> StoredScore:
    return StoredScore(**row("c1", probability, reasons=reasons).__dict__)


def test_a_score_that_rose_is_explained_by_the_moves_that_raised_it() -> None:
    # 49 -> 51: the three biggest moves pushed it down, two smaller ones up (issue 10's example:
    # all three movers listed pointed down).
    before = stored(0.49, [reason("a", 0.9), reason("b", 0.8), reason("c", 0.7)])
    after = stored(
        0.51,
        [reason("a", 0.4), reason("b", 0.3), reason("c", 0.2), reason("d", 0.45), reason("e", 0.4)],
    )
    change = describe_change(after, before)
    assert change is not None and change["score_delta"] == 2
    assert [m["feature"] for m in change["movers"]] == ["d", "e"]
    fell = describe_change(before, after)
    assert fell is not None and [m["feature"] for m in fell["movers"]] == ["d", "e"]
    assert all(m["change"] < 0 for m in fell["movers"])


def test_an_unmoved_score_lists_the_largest_moves_either_way() -> None:
    before = stored(0.5, [reason("a", 0.9), reason("b", -0.2)])
    after = stored(0.5, [reason("a", 0.1), reason("b", 0.3)])
    change = describe_change(after, before)
    assert change is not None and [m["feature"] for m in change["movers"]] == ["a", "b"]
