"""The manager's model card: what a score means in plain words, from the evaluation's own figures.

Two steps so the card can be rendered again later: ``card_facts`` reduces a trained task to plain
JSON (logged as ``manager_card.json`` beside ``manager_card.md`` by ``training.card_artifacts``),
and ``render_manager_card`` writes the markdown from those facts plus, when ``salesradar
monitor`` has judged batch runs of this model version, their realised tier rates
(``monitoring_lines``). Every figure comes from the temporal test, the rolling-origin backtest
or the monitoring results; none is written here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import numpy as np

from features.contract.tasks import Task
from features.contract.times import iso_utc
from features.model.tiers import DEFAULT_TIER_CUTOFFS, TIER_NAMES, scores_of, tier_positions
from training.evaluation import Evaluation
from training.linear import LOGISTIC_KIND
from training.trainer import TrainedTask

MANAGER_CARD = "manager_card.md"
MANAGER_FACTS = "manager_card.json"
SCORE_BAND = (65, 75)  # "a score of 70": the scores 65..75 inclusive
MIN_BAND_ENTITIES = 30  # fewer in a band and its realised rate is noise: the card says so

_WORDS = {
    Task.LEADS: {
        "entities": "leads",
        "event": "converted",
        "will": "convert",
        "list": "hot-lead list",
        "money": "expected deal value",
        "value": "deal size",
        "realised_money": "deal value of the leads that did convert",
    },
    Task.CHURN: {
        "entities": "customers",
        "event": "churned (placed no order)",
        "will": "churn (place no order)",
        "list": "at-risk list",
        "money": "annual value at risk",
        "value": "annual value",
        "realised_money": "annual value of the customers who did churn",
    },
}


def list_order(probability: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Row indices in the order the lists rank them: probability x value (expected value won /
    value at risk) highest first, an unknown value last, ties by probability (docs/serving.md)."""
    weighted = np.nan_to_num(probability * values, nan=-np.inf)
    return np.lexsort((-probability, -weighted))


def band_rate(labels: np.ndarray, probability: np.ndarray) -> dict[str, float | int]:
    """Entities, positives, realised rate and mean probability of a group of rows (rate NaN when
    the group is empty)."""
    n = len(labels)
    return {
        "entities": n,
        "positives": int(labels.sum()),
        "realised_rate": float(labels.mean()) if n else math.nan,
        "expected_rate": float(probability.mean()) if n else math.nan,
    }


def tier_rates(task: Task, labels: np.ndarray, probability: np.ndarray) -> list[dict[str, Any]]:
    """``band_rate`` per tier at the default cut-offs (``features.model.tiers``), top tier first."""
    high, medium = DEFAULT_TIER_CUTOFFS[task]
    positions = tier_positions(probability, high=high, medium=medium)
    return [
        {"tier": name, **band_rate(labels[positions == i], probability[positions == i])}
        for i, name in enumerate(TIER_NAMES[task])
    ]


def money_at_capacity(
    labels: np.ndarray, probability: np.ndarray, values: np.ndarray, *, capacity: int
) -> dict[str, float | int]:
    """What the top ``capacity`` rows of the list hold: expected value (sum of probability x
    value), the realised value of its positives, and the share of all positives' value it holds.
    Unknown values count as 0 (they cannot be weighted) and rank last, as in the lists."""
    top = list_order(probability, values)[: min(capacity, len(labels))]
    known = np.nan_to_num(values, nan=0.0)
    everything = float((known * labels).sum())
    realised = float((known[top] * labels[top]).sum())
    return {
        "worked": len(top),
        "expected_value": float((known[top] * probability[top]).sum()),
        "positives": int(labels[top].sum()),
        "realised_value": realised,
        "realised_share": realised / everything if everything > 0 else math.nan,
    }


def card_facts(
    trained: TrainedTask,
    *,
    capacity: int,
    as_of: datetime,
    model_name: str,
    version: str,
) -> dict[str, Any]:
    """The figures of the manager card as plain JSON (dates ISO 8601; rates in [0, 1]).

    ``as_of`` is the time the training export was read as of (the run's ``as_of`` param). The
    test figures are the evaluated model's on the temporal test cutoffs; the backtest's pool every
    dated origin, each scored by a model fitted only on earlier cutoffs. Without a temporal test
    ``evaluation`` is None and the card says nothing was measured.
    """
    labelled = trained.shipped_cutoffs or trained.split.fit
    facts: dict[str, Any] = {
        "task": trained.task.value,
        "model_name": model_name,
        "version": version,
        "horizon_days": trained.horizon.days,
        "capacity": capacity,
        "trained_as_of": iso_utc(as_of),
        "first_cutoff": f"{labelled[0]:%Y-%m-%d}",
        "last_cutoff": f"{labelled[-1]:%Y-%m-%d}",
        "cutoffs": len(labelled),
        "tier_cutoffs": dict(
            zip(("high", "medium"), DEFAULT_TIER_CUTOFFS[trained.task], strict=True)
        ),
        "leakage_passed": trained.leakage.passed,
        # "logistic_regression" for the simple model (training.simple_pack); None: the trees.
        "model_kind": trained.model.metadata.get("model_kind"),
        "notes": [],
        "evaluation": None,
    }
    if trained.evaluation is not None:
        facts["evaluation"] = _evaluation_facts(trained.task, trained.evaluation, capacity)
        facts["notes"] = list(trained.evaluation.notes)
    return facts


def _evaluation_facts(task: Task, evaluation: Evaluation, capacity: int) -> dict[str, Any]:
    scores = evaluation.scores
    origins = evaluation.origin_scores
    pooled_labels = np.concatenate([o.labels for o in origins]) if origins else np.zeros(0, int)
    pooled = np.concatenate([o.probability for o in origins]) if origins else np.zeros(0)
    low, high = SCORE_BAND

    def in_band(probability: np.ndarray) -> np.ndarray:
        score = scores_of(probability)
        return (score >= low) & (score <= high)

    return {
        "test_rows": len(scores.labels),
        "backtest_origins": [f"{o.cutoff:%Y-%m-%d}" for o in origins],
        "band_test": band_rate(
            scores.labels[in_band(scores.model)], scores.model[in_band(scores.model)]
        ),
        "band_backtest": band_rate(pooled_labels[in_band(pooled)], pooled[in_band(pooled)]),
        "tiers_test": tier_rates(task, scores.labels, scores.model),
        "tiers_backtest": tier_rates(task, pooled_labels, pooled),
        "money": [
            {
                "cutoff": f"{o.cutoff:%Y-%m-%d}",
                **money_at_capacity(o.labels, o.probability, o.values, capacity=capacity),
            }
            for o in origins
        ],
    }


def monitored_outcomes(
    results: Sequence[Mapping[str, Any]], *, model_name: str, version: str
) -> list[dict[str, Any]]:
    """The stored outcomes (``RunOutcome.to_dict()``) of the batch runs this version scored, by
    batch as-of. ``results``: rows of ``monitoring_results`` (``training.monitoring.store``)."""
    rows = [
        r
        for r in results
        if r["model_name"] == model_name and str(r["model_version"]) == str(version)
    ]
    return [dict(r["outcome"]) for r in sorted(rows, key=lambda r: r["as_of"])]


def render_manager_card(
    facts: Mapping[str, Any], *, monitored: Sequence[Mapping[str, Any]] = ()
) -> str:
    """The manager card as markdown, from ``card_facts`` and the ``monitored_outcomes``."""
    task = Task(facts["task"])
    words = _WORDS[task]
    lines = [
        f"# {words['list'].capitalize()}: what the {task.value} model's scores mean",
        "",
        f"Model {facts['model_name']} version {facts['version']}"
        + (", a logistic regression" if facts.get("model_kind") == LOGISTIC_KIND else "")
        + f", trained as of {facts['trained_as_of']}.",
        "",
        "## Intended use",
        "",
        *_intended_use(facts, words),
        "",
        "## When it was trained, and on what",
        "",
        f"- Trained as of {facts['trained_as_of']} on {facts['cutoffs']} dates from "
        f"{facts['first_cutoff']} to {facts['last_cutoff']}: at each date, what was known "
        f"before it, and whether the {words['entities']} {words['event']} in the "
        f"{facts['horizon_days']} days after it.",
        "",
    ]
    evaluation = facts["evaluation"]
    if evaluation is None:
        lines += [
            "## How good it is: not measured",
            "",
            "- There was too little history (or none was held back) to test this model on later "
            "dates. Nobody knows yet how well its scores hold up: treat them with care.",
        ]
    else:
        lines += _score_70(facts, evaluation, words)
        lines += _tiers(facts, evaluation, words)
        lines += _money(facts, evaluation, words)
    lines += ["", "## After training: what happened to scored runs", ""]
    lines += monitoring_lines(task, monitored) or [
        "- No batch run of this version has been judged yet (`salesradar monitor` fills this in)."
    ]
    lines += ["", "## Known limits", "", *(f"- {n}" for n in _limits(facts, words))]
    return "\n".join(lines) + "\n"


def monitoring_lines(task: Task, monitored: Sequence[Mapping[str, Any]]) -> list[str]:
    """One bullet per judged batch run: the realised rate per tier against the expected one."""
    words = _WORDS[task]
    lines = []
    for outcome in monitored:
        as_of = datetime.fromisoformat(outcome["as_of"])
        end = datetime.fromisoformat(outcome["window_end"])
        state = (
            f"partial: {(end - as_of).days} of {outcome['horizon_days']} days so far"
            if outcome["partial"]
            else f"the full {outcome['horizon_days']} days"
        )
        tiers = "; ".join(
            f"{t['tier']}: {_pct(t['realised_rate'])} of {t['entities']:,} "
            f"(expected {_pct(t['expected_rate'])})"
            for t in outcome["tiers"]
        )
        lines.append(
            f"- Scored {as_of:%Y-%m-%d} ({state}): share of {words['entities']} who "
            f"{words['event']} per tier: {tiers}."
        )
    return lines


def _intended_use(facts: Mapping[str, Any], words: Mapping[str, str]) -> list[str]:
    days = facts["horizon_days"]
    return [
        f"- Ranks {words['entities']} by how likely they are to {words['will']} within "
        f"{days} days, to order the {words['list']}: who to work first.",
        "- The score (0-100) is the model's probability in percent; the list ranks by "
        f"{words['money']}: that probability times the {words['value']}.",
        "- Not for: judging reps, pricing, credit, or any decision about a person without a "
        "person looking at it.",
    ]


def _score_70(
    facts: Mapping[str, Any], evaluation: Mapping[str, Any], words: Mapping[str, str]
) -> list[str]:
    low, high = SCORE_BAND
    lines = [
        "## What a score of 70 means",
        "",
        f"- A score of 70 means a 70% chance that the {words['entities'][:-1]} will "
        f"{words['will']} within {facts['horizon_days']} days.",
    ]
    for key, where in (
        ("band_test", "the held-back test date"),
        ("band_backtest", f"the backtest dates ({', '.join(evaluation['backtest_origins'])})"),
    ):
        band = evaluation[key]
        if band["entities"] < MIN_BAND_ENTITIES:
            lines.append(
                f"- On {where}, {band['entities']} {words['entities']} scored {low}-{high}: "
                "too few to say how often it came true."
            )
        else:
            lines.append(
                f"- On {where}, {band['positives']:,} of the {band['entities']:,} "
                f"{words['entities']} scored {low}-{high} {words['event']}: "
                f"{_pct(band['realised_rate'])} (they averaged {_pct(band['expected_rate'])})."
            )
    return lines


def _tiers(
    facts: Mapping[str, Any], evaluation: Mapping[str, Any], words: Mapping[str, str]
) -> list[str]:
    cut = facts["tier_cutoffs"]
    names = [t["tier"] for t in evaluation["tiers_backtest"]]
    lines = [
        "",
        "## The tiers: how often they came true",
        "",
        f"Tiers at the default cut-offs: {names[0]} from a score of {_pct(cut['high'])}, "
        f"{names[1]} from {_pct(cut['medium'])}, {names[2]} below "
        "(a deployment may set others).",
        "",
        f"| tier | {words['entities']} (test) | came true (test) | expected (test) | "
        f"{words['entities']} (backtest) | came true (backtest) | expected (backtest) |",
        "|---|---|---|---|---|---|---|",
    ]
    for test, back in zip(evaluation["tiers_test"], evaluation["tiers_backtest"], strict=True):
        lines.append(
            f"| {test['tier']} | {test['entities']:,} | {_pct(test['realised_rate'])} | "
            f"{_pct(test['expected_rate'])} | {back['entities']:,} | "
            f"{_pct(back['realised_rate'])} | {_pct(back['expected_rate'])} |"
        )
    return lines


def _money(
    facts: Mapping[str, Any], evaluation: Mapping[str, Any], words: Mapping[str, str]
) -> list[str]:
    lines = [
        "",
        f"## Money at stake at the reps' capacity ({facts['capacity']:,} per date)",
        "",
        f"The top {facts['capacity']:,} of the {words['list']} on each backtest date, in the "
        "export's currency:",
        "",
        f"| date | {words['money']} | came true | {words['realised_money']} | share of all |",
        "|---|---|---|---|---|",
    ]
    for m in evaluation["money"]:
        lines.append(
            f"| {m['cutoff']} | {m['expected_value']:,.0f} | {m['positives']:,} of "
            f"{m['worked']:,} | {m['realised_value']:,.0f} | {_pct(m['realised_share'])} |"
        )
    return lines


def _limits(facts: Mapping[str, Any], words: Mapping[str, str]) -> list[str]:
    limits = [
        f"It only speaks about the next {facts['horizon_days']} days, and only from what the "
        f"CRM recorded up to {facts['trained_as_of']}: a new product, price or territory "
        "change is not in it. `salesradar monitor` shows when it stops holding.",
        "It says who is likely, not whether a call changes the outcome: the realised rates "
        "include whatever the reps already did.",
        f"{words['entities'].capitalize()} with an unknown value rank last in the list.",
        "Chances are calibrated to the training dates' base rate; if that rate moves, the "
        "scores drift away from the realised rates before the ranking does.",
    ]
    if not facts["leakage_passed"]:
        limits.append("The leakage audit found problems (see the data scientist's card).")
    return limits + list(facts["notes"])


def _pct(rate: float | None) -> str:
    if rate is None or (isinstance(rate, float) and math.isnan(rate)):
        return "-"
    return f"{100 * rate:.0f}%"
