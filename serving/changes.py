"""What changed between an entity's previous and latest stored score."""

from __future__ import annotations

from typing import Any

from features.moments import iso_utc
from serving.store import StoredScore

TOP_MOVERS = 3


def describe_change(latest: StoredScore, previous: StoredScore | None) -> dict[str, Any] | None:
    """Score delta and the reasons that moved it most (None without a previous score).

    Movers are the features whose contribution moved most *in the direction of the change*
    (up when the probability rose, down when it fell), so a score that rose is never explained
    by reasons that all pushed it down; when the probability did not move, the largest moves
    either way. Only the stored top reasons of each run are known, so a feature absent from one
    side counts as contributing 0 there (it was not among that run's strongest reasons), and
    the movers do not add up to the change in log-odds. ``previous_as_of`` is an ``iso_utc``
    string.
    """
    if previous is None:
        return None
    before = {r["feature"]: r for r in previous.reasons}
    after = {r["feature"]: r for r in latest.reasons}
    movers = []
    for feature in dict.fromkeys([*after, *before]):
        old = before.get(feature)
        new = after.get(feature)
        old_c = None if old is None else float(old["contribution"])
        new_c = None if new is None else float(new["contribution"])
        change = (new_c or 0.0) - (old_c or 0.0)
        text = (new or old or {}).get("text", feature)
        movers.append(
            {
                "feature": feature,
                "previous_contribution": old_c,
                "contribution": new_c,
                "change": change,
                "text": text,
            }
        )
    movers.sort(key=lambda m: -abs(m["change"]))
    rise = latest.probability - previous.probability
    if rise != 0.0:
        movers = [m for m in movers if (m["change"] > 0) == (rise > 0)]
    return {
        "previous_score": previous.score,
        "previous_probability": previous.probability,
        "previous_as_of": iso_utc(previous.as_of),
        "score_delta": latest.score - previous.score,
        "probability_delta": latest.probability - previous.probability,
        "movers": [m for m in movers if m["change"] != 0.0][:TOP_MOVERS],
    }
