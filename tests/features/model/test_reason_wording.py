"""The sentences reps read: registry descriptions rendered by ``features.model.reasons`` for real
values.

Golden sentences per feature family for zero, one, many, negative and missing values, the case
grammar's fallbacks, a sweep over every registry description, and a tiny fitted model whose
explanations (before and after a save/load round trip) read exactly as written here.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from features.contract.tasks import Task
from features.definitions.btyd import BgNbdParameters, BtydFeatures
from features.definitions.registry import btyd_specs, feature_specs
from features.definitions.vocabulary import Vocabulary
from features.definitions.wording import Case, Wording, WordingError
from features.model.reasons import explain, phrase
from features.model.scoring_model import ModelFeature, ScoringModel
from tests.features.vocabkit import sim_vocabulary
from training.tree_fit import fit_scoring_model

# Values of the other features that some sentences name, for one made-up entity.
CONTEXT: dict[str, object] = {
    "days_since_last_purchase": 64.0,
    "median_days_between_purchases": 21.2,
    "support_ticket_count_90d": 3.0,
}


# A churn model with a purchase kind also has the derived BG/NBD features
# (features.definitions.btyd).
BTYD = BtydFeatures(BgNbdParameters(r=0.8, alpha=20.0, a=0.5, b=4.0), horizon_days=90)


def _model_features(task: Task) -> tuple[ModelFeature, ...]:
    vocabulary = sim_vocabulary(task)
    specs = feature_specs(task, vocabulary)
    if task is Task.CHURN:
        specs += btyd_specs(vocabulary, BTYD)
    return tuple(ModelFeature.from_spec(s) for s in specs)


def _say(task: Task, feature: str, value: object, **others: object) -> str:
    specs = _model_features(task)
    spec = next(s for s in specs if s.name == feature)
    return phrase(spec, {**CONTEXT, **others, feature: value}, specs)


GOLDEN: list[tuple[Task, str, object, str]] = [
    # activity: counts per event type, zero / one / many / missing
    (Task.LEADS, "email_reply_count_7d", 0.0, "No replies to emails in the last 7 days"),
    (Task.LEADS, "email_reply_count_7d", 1.0, "Replied to 1 email in the last 7 days"),
    (Task.LEADS, "email_reply_count_7d", 3.0, "Replied to 3 emails in the last 7 days"),
    (Task.LEADS, "email_reply_count_7d", None, "Email replies in the last 7 days: unknown"),
    (Task.LEADS, "email_open_count_30d", 0.0, "No emails opened in the last 30 days"),
    (Task.LEADS, "email_open_count_30d", 1.0, "Opened 1 email in the last 30 days"),
    (Task.LEADS, "email_open_count_30d", 5.0, "Opened 5 emails in the last 30 days"),
    (Task.LEADS, "call_count_90d", 1.0, "1 call in the last 90 days"),
    (Task.LEADS, "call_count_90d", 1234.0, "1,234 calls in the last 90 days"),
    (Task.LEADS, "sample_request_count_365d", 0.0, "No sample requests in the last 365 days"),
    (Task.LEADS, "event_count_30d", 0.0, "No interactions in the last 30 days"),
    (Task.LEADS, "event_count_30d", 1.0, "1 interaction in the last 30 days"),
    (Task.CHURN, "portal_login_count_30d", 0.0, "No portal logins in the last 30 days"),
    (Task.CHURN, "portal_login_count_30d", 1.0, "Logged in to the portal once in the last 30 days"),
    (
        Task.CHURN,
        "portal_login_count_30d",
        12.0,
        "Logged in to the portal 12 times in the last 30 days",
    ),
    (Task.CHURN, "support_ticket_count_30d", 2.0, "2 support tickets in the last 30 days"),
    (Task.CHURN, "check_in_count_180d", 0.0, "No check-ins in the last 180 days"),
    # activity: value sums (money)
    (Task.LEADS, "quote_value_90d", 12500.4, "Quotes worth 12,500 in the last 90 days"),
    (Task.LEADS, "quote_value_90d", 0.0, "No quote value in the last 90 days"),
    (Task.CHURN, "purchase_value_365d", 0.0, "No order value in the last 365 days"),
    (Task.CHURN, "purchase_value_30d", 1.0, "Orders worth 1 in the last 30 days"),
    # recency: days in both numbers, under a day, never
    (Task.CHURN, "days_since_last_purchase", 64.4, "No order for 64 days"),
    (Task.CHURN, "days_since_last_purchase", 1.0, "No order for 1 day"),
    (Task.CHURN, "days_since_last_purchase", 0.2, "Ordered less than a day ago"),
    (Task.CHURN, "days_since_last_purchase", None, "Never ordered"),
    (Task.LEADS, "days_since_last_email_reply", 3.0, "Last replied to an email 3 days ago"),
    (Task.LEADS, "days_since_last_email_reply", None, "Never replied to an email"),
    (Task.LEADS, "days_since_last_call", 1.0, "Last call 1 day ago"),
    (Task.LEADS, "days_since_last_call", 0.0, "Last call less than a day ago"),
    (Task.LEADS, "days_since_last_sample_request", None, "No sample requests yet"),
    (Task.LEADS, "days_since_last_event", None, "No interactions yet"),
    (Task.LEADS, "days_since_last_event", 9.0, "No interaction for 9 days"),
    (Task.CHURN, "days_since_last_portal_login", None, "Never logged in to the portal"),
    (Task.CHURN, "days_since_last_check_in", 30.0, "Last check-in 30 days ago"),
    # trend: the sign picks more / fewer, the number is the magnitude
    (
        Task.CHURN,
        "purchase_trend_30d",
        0.0,
        "Same number of orders in the last 30 days as in the 30 days before",
    ),
    (
        Task.CHURN,
        "purchase_trend_30d",
        1.0,
        "1 more order in the last 30 days than in the 30 days before",
    ),
    (
        Task.CHURN,
        "purchase_trend_30d",
        -1.0,
        "1 fewer order in the last 30 days than in the 30 days before",
    ),
    (
        Task.CHURN,
        "purchase_trend_30d",
        -4.0,
        "4 fewer orders in the last 30 days than in the 30 days before",
    ),
    (
        Task.CHURN,
        "purchase_trend_30d",
        4.0,
        "4 more orders in the last 30 days than in the 30 days before",
    ),
    (
        Task.LEADS,
        "email_reply_trend_90d",
        2.0,
        "2 more email replies in the last 90 days than in the 90 days before",
    ),
    (
        Task.CHURN,
        "support_ticket_trend_90d",
        -1.0,
        "1 fewer support ticket in the last 90 days than in the 90 days before",
    ),
    # tenure
    (Task.LEADS, "lead_age_days", 12.0, "Lead is 12 days old"),
    (Task.LEADS, "lead_age_days", 1.0, "Lead is 1 day old"),
    (Task.LEADS, "lead_age_days", 0.3, "Lead created less than a day ago"),
    (Task.LEADS, "lead_age_days", None, "Days since the lead was created: unknown"),
    (Task.CHURN, "customer_tenure_days", 400.0, "Customer for 400 days"),
    (Task.CHURN, "customer_tenure_days", 0.0, "Customer for less than a day"),
    # cadence (churn)
    (Task.CHURN, "median_days_between_purchases", 21.2, "Usually one order every 21 days"),
    (Task.CHURN, "median_days_between_purchases", 1.0, "Usually one order every day"),
    (Task.CHURN, "median_days_between_purchases", 0.2, "Usually more than one order a day"),
    (
        Task.CHURN,
        "median_days_between_purchases",
        None,
        "No repeat orders in the last year, so no usual gap",
    ),
    (
        Task.CHURN,
        "days_overdue_vs_purchase_cadence",
        42.8,
        "No order for 64 days; usually one order every 21 days",
    ),
    (
        Task.CHURN,
        "days_overdue_vs_purchase_cadence",
        0.0,
        "No order for 64 days; usually one order every 21 days",
    ),
    (
        Task.CHURN,
        "days_overdue_vs_purchase_cadence",
        None,
        "No repeat orders in the last year, so no usual gap to compare with",
    ),
    (
        Task.CHURN,
        "purchase_value_trend_90d",
        2500.0,
        "Orders worth 2,500 more in the last 90 days than in the 90 days before",
    ),
    (
        Task.CHURN,
        "purchase_value_trend_90d",
        -2500.0,
        "Orders worth 2,500 less in the last 90 days than in the 90 days before",
    ),
    (
        Task.CHURN,
        "purchase_value_trend_90d",
        0.4,
        "Same value of orders in the last 90 days as in the 90 days before",
    ),
    (Task.CHURN, "share_of_months_with_purchase_12m", 0.0, "No orders in the last 12 months"),
    (
        Task.CHURN,
        "share_of_months_with_purchase_12m",
        1.0,
        "At least one order in every one of the last 12 months",
    ),
    (
        Task.CHURN,
        "share_of_months_with_purchase_12m",
        0.25,
        "At least one order in 25% of the last 12 months",
    ),
    # engagement
    (
        Task.LEADS,
        "inbound_share_90d",
        0.35,
        "The lead started 35% of the interactions in the last 90 days",
    ),
    (
        Task.LEADS,
        "inbound_share_90d",
        0.0,
        "Every interaction in the last 90 days was started by us",
    ),
    (
        Task.LEADS,
        "inbound_share_90d",
        1.0,
        "The lead started every interaction in the last 90 days",
    ),
    (
        Task.LEADS,
        "inbound_share_90d",
        None,
        "No inbound or outbound interactions in the last 90 days",
    ),
    (
        Task.CHURN,
        "inbound_share_90d",
        0.5,
        "The customer started 50% of the interactions in the last 90 days",
    ),
    (Task.LEADS, "last_touch_channel", "phone", "Latest touch via phone"),
    (Task.LEADS, "last_touch_channel", None, "No touches with a known channel yet"),
    # responsiveness (leads)
    (Task.LEADS, "days_to_first_touch", 2.0, "First contacted 2 days after the lead came in"),
    (Task.LEADS, "days_to_first_touch", 1.0, "First contacted 1 day after the lead came in"),
    (Task.LEADS, "days_to_first_touch", 0.1, "First contacted within a day of coming in"),
    (Task.LEADS, "days_to_first_touch", -3.0, "First contacted 3 days before the lead was created"),
    (Task.LEADS, "days_to_first_touch", None, "Not contacted yet"),
    (
        Task.LEADS,
        "touches_before_first_reply",
        0.0,
        "No outbound touches before the lead first got in touch (or none yet)",
    ),
    (
        Task.LEADS,
        "touches_before_first_reply",
        1.0,
        "1 outbound touch before the lead first got in touch (or so far, if not yet)",
    ),
    (
        Task.LEADS,
        "touches_before_first_reply",
        4.0,
        "4 outbound touches before the lead first got in touch (or so far, if not yet)",
    ),
    # support (churn): the difference from usual, with the count beside it
    (
        Task.CHURN,
        "support_ticket_90d_vs_usual",
        2.0,
        "2 more support tickets than usual in the last 90 days (3 in all)",
    ),
    (
        Task.CHURN,
        "support_ticket_90d_vs_usual",
        1.0,
        "1 more support ticket than usual in the last 90 days (3 in all)",
    ),
    (
        Task.CHURN,
        "support_ticket_90d_vs_usual",
        0.004,
        "Usual number of support tickets in the last 90 days (3 in all)",
    ),
    (
        Task.CHURN,
        "support_ticket_90d_vs_usual",
        -1.0,
        "1 fewer support ticket than usual in the last 90 days (3 in all)",
    ),
    (
        Task.CHURN,
        "support_ticket_90d_vs_usual",
        -0.6667,
        "0.67 fewer support tickets than usual in the last 90 days (3 in all)",
    ),
    # cadence, derived from the order pattern by BG/NBD: ratios, an expected count, missing
    (
        Task.CHURN,
        "btyd_p_alive",
        0.62,
        "62% chance the customer is still buying, judging by past orders",
    ),
    (Task.CHURN, "btyd_p_alive", 0.999, "Almost surely still buying, judging by past orders"),
    (Task.CHURN, "btyd_p_alive", None, "No orders yet, so no buying pattern"),
    (
        Task.CHURN,
        "btyd_expected_purchases_90d",
        2.374,
        "About 2.37 orders expected in the next 90 days, judging by past orders",
    ),
    (
        Task.CHURN,
        "btyd_expected_purchases_90d",
        0.001,
        "No orders expected in the next 90 days, judging by past orders",
    ),
    (
        Task.CHURN,
        "btyd_p_no_purchase_90d",
        0.35,
        "35% chance of no order in the next 90 days, judging by past orders",
    ),
    (
        Task.CHURN,
        "btyd_p_no_purchase_90d",
        0.001,
        "Almost surely another order in the next 90 days, judging by past orders",
    ),
    # attribute: the entity's own value
    (Task.LEADS, "expected_value", 12500.0, "Expected deal value of 12,500"),
    (Task.LEADS, "expected_value", None, "Expected deal value not known"),
    (Task.CHURN, "annual_value", 48000.0, "Worth 48,000 a year"),
    (Task.CHURN, "annual_value", None, "Annual value not known"),
]


@pytest.mark.parametrize(("task", "feature", "value", "text"), GOLDEN)
def test_golden_sentences(task: Task, feature: str, value: object, text: str) -> None:
    assert _say(task, feature, value) == text


def test_a_customer_not_yet_due_reads_as_not_overdue() -> None:
    text = _say(
        Task.CHURN,
        "days_overdue_vs_purchase_cadence",
        -5.0,
        days_since_last_purchase=16.0,
        median_days_between_purchases=21.0,
    )
    assert text == "Last order 16 days ago; usually one order every 21 days"


def test_every_family_has_golden_sentences() -> None:
    golden = {(task, feature) for task, feature, _, _ in GOLDEN}
    for task in Task:
        families = {s.family for s in feature_specs(task, sim_vocabulary(task))}
        covered = {
            s.family for s in feature_specs(task, sim_vocabulary(task)) if (task, s.name) in golden
        }
        assert covered == families, task


# --- the case grammar of ``features.model.reasons.phrase`` on descriptions like the registry's ---


def _phrase_one(description: Wording, unit: str, value: object) -> str:
    spec = ModelFeature("x", "numeric", description, "f", unit)
    return phrase(spec, {"x": value}, (spec,))


def test_a_value_no_case_fits_reads_as_the_label() -> None:
    description = Wording.of("Calls in the last 7 days", {"=0": "No calls in the last 7 days"})
    assert _phrase_one(description, "count", 4.0) == "Calls in the last 7 days: 4"
    assert _phrase_one(description, "count", None) == "Calls in the last 7 days: unknown"


def test_malformed_cases_cannot_be_written_and_saved_ones_read_as_the_label() -> None:
    with pytest.raises(WordingError, match="case key 'zero'"):
        Case("zero", "No calls")
    with pytest.raises(WordingError, match="case\\(s\\) =0 repeated"):
        Wording("Calls", (Case("=0", "No calls"), Case("=0", "None")))
    # A description saved in the old one-string form with a malformed case keeps its label.
    description = Wording.from_legacy_text("Calls in the last 7 days | zero: No calls")
    assert description == Wording("Calls in the last 7 days")
    assert _phrase_one(description, "count", 0.0) == "Calls in the last 7 days: 0"


def test_a_case_naming_a_feature_the_model_lacks_reads_as_the_label() -> None:
    description = Wording.of(
        "Days since the last order", {"other": "No order for {value}, usually {nope}"}
    )
    assert _phrase_one(description, "days", 5.0) == "Days since the last order: 5 days"


def test_exact_cases_match_the_value_as_shown() -> None:
    description = Wording.of("Share", {"=1": "All of them", "other": "{value} of them"})
    assert _phrase_one(description, "ratio", 0.996) == "All of them"
    assert _phrase_one(description, "ratio", 0.994) == "99% of them"
    # Without a "<0" case a negative value keeps its sign under "other".
    assert _phrase_one(Wording.of("Change", {"other": "{value} more"}), "number", -2.0) == "-2 more"


# --- every description in the registry ---


def _all_specs() -> list[tuple[Task, ModelFeature, tuple[ModelFeature, ...]]]:
    return [(task, spec, _model_features(task)) for task in Task for spec in _model_features(task)]


def _cases(description: Wording) -> dict[str, str]:
    return {case.when: case.text for case in description.cases}


@pytest.mark.parametrize("value", [None, 0.0, 0.4, 1.0, 2.0, -1.0, -3.0, 37.6, 2500.0])
def test_every_description_renders_a_clean_sentence(value: float | None) -> None:
    for task, spec, specs in _all_specs():
        cases = _cases(spec.description)
        if value is not None and value < 0 and "<0" not in cases:
            continue  # counts, days since, shares and values are never negative
        row: dict[str, object] = {s.name: 2.0 for s in specs if s.unit != "category"}
        row[spec.name] = "email" if spec.unit == "category" and value is not None else value
        text = phrase(spec, row, specs)
        where = f"{task}/{spec.name}={value}: {text!r}"
        assert text[0].isupper() or text[0].isdigit(), where
        assert not re.search(r"[{}|]", text), where
        assert len(text) <= 85, where
        if value is None and "missing" in cases:
            assert "unknown" not in text, where
        if value is not None and value < 0:
            assert "-" not in text.replace("check-in", ""), where  # the words carry the sign
        if spec.unit == "count" and value == 0.0:
            assert not re.search(r"(?<![\d.,])0 ", text), where  # a zero count reads in words


def test_labels_stay_short_labels() -> None:
    for task, spec, _ in _all_specs():
        label = spec.description.label
        assert label[0].isupper() and len(label) < 80, (task, spec.name)
        assert "{" not in label and ":" not in label, (task, spec.name)
        assert set(_cases(spec.description)) <= {"missing", "=0", "=1", "=-1", "<0", "other"}


def test_a_type_without_wording_reads_from_its_own_name() -> None:
    vocabulary = Vocabulary.of_types(
        Task.LEADS, ["Webinar", "Content-Download", "Zq Email Open", "Beantwoord"]
    )
    specs = tuple(ModelFeature.from_spec(s) for s in feature_specs(Task.LEADS, vocabulary))

    def say(name: str, value: object) -> str:
        return phrase(next(s for s in specs if s.name == name), {name: value}, specs)

    # Never inflected (a name may be in any language): "event(s)" carries the number.
    assert say("webinar_count_30d", 12.0) == "12 webinar events in the last 30 days"
    assert say("webinar_count_30d", 1.0) == "1 webinar event in the last 30 days"
    assert say("content_download_count_7d", 0.0) == "No content download events in the last 7 days"
    assert say("days_since_last_zq_email_open", 3.0) == "Last zq email open event 3 days ago"
    assert say("beantwoord_count_30d", 3.0) == "3 beantwoord events in the last 30 days"
    assert say("other_count_90d", 2.0) == "2 events of other types in the last 90 days"


def test_labels_keep_the_earlier_descriptions() -> None:
    churn = {
        s.name: s.description.label for s in feature_specs(Task.CHURN, sim_vocabulary(Task.CHURN))
    }
    leads = {
        s.name: s.description.label for s in feature_specs(Task.LEADS, sim_vocabulary(Task.LEADS))
    }
    assert churn["days_since_last_purchase"] == "Days since the last order"
    assert leads["email_reply_count_7d"] == "Email replies in the last 7 days"
    assert leads["quote_value_30d"] == "Value of quotes in the last 30 days"
    assert churn["purchase_trend_90d"] == "Change in orders, last 90 days vs the 90 days before"


# --- a tiny fitted model on registry features ---

FITTED = (
    "days_since_last_purchase",
    "median_days_between_purchases",
    "days_overdue_vs_purchase_cadence",
    "support_ticket_count_90d",
    "support_ticket_90d_vs_usual",
)


def _training_frame(seed: int, entities: int = 150, months: int = 4) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = entities * months
    since = rng.gamma(2.0, 20.0, size=rows)
    since[rng.random(rows) < 0.1] = np.nan  # never ordered
    gap = rng.gamma(3.0, 8.0, size=rows)
    gap[np.isnan(since) | (rng.random(rows) < 0.1)] = np.nan
    tickets = rng.poisson(1.0, size=rows).astype(float)
    vs_usual = tickets - rng.gamma(1.0, 1.0, size=rows)
    logit = -1.0 + 0.04 * np.nan_to_num(since - gap, nan=20.0) + 0.5 * vs_usual
    label = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(int)
    cutoffs = pd.date_range("2025-01-01", periods=months, freq="MS")
    return pd.DataFrame(
        {
            "entity_id": [f"C{i % entities:04d}" for i in range(rows)],
            "cutoff": np.repeat(cutoffs.to_numpy(), entities),
            "label": label,
            "days_since_last_purchase": since,
            "median_days_between_purchases": gap,
            "days_overdue_vs_purchase_cadence": since - gap,
            "support_ticket_count_90d": tickets,
            "support_ticket_90d_vs_usual": vs_usual,
        }
    )


# Two handwritten customers and what each fitted feature must read for them.
SCORED = pd.DataFrame(
    {
        "days_since_last_purchase": [64.0, np.nan],
        "median_days_between_purchases": [21.0, np.nan],
        "days_overdue_vs_purchase_cadence": [43.0, np.nan],
        "support_ticket_count_90d": [1.0, 0.0],
        "support_ticket_90d_vs_usual": [1.0, -0.5],
    }
)
EXPECTED = [
    {
        "days_since_last_purchase": "No order for 64 days",
        "median_days_between_purchases": "Usually one order every 21 days",
        "days_overdue_vs_purchase_cadence": "No order for 64 days; usually one order every 21 days",
        "support_ticket_count_90d": "1 support ticket in the last 90 days",
        "support_ticket_90d_vs_usual": (
            "1 more support ticket than usual in the last 90 days (1 in all)"
        ),
    },
    {
        "days_since_last_purchase": "Never ordered",
        "median_days_between_purchases": "No repeat orders in the last year, so no usual gap",
        "days_overdue_vs_purchase_cadence": (
            "No repeat orders in the last year, so no usual gap to compare with"
        ),
        "support_ticket_count_90d": "No support tickets in the last 90 days",
        "support_ticket_90d_vs_usual": (
            "0.5 fewer support tickets than usual in the last 90 days (0 in all)"
        ),
    },
]


def test_a_fitted_model_explains_in_these_words_and_keeps_them_when_saved(tmp_path) -> None:
    specs = [s for s in feature_specs(Task.CHURN, sim_vocabulary(Task.CHURN)) if s.name in FITTED]
    # Its own fit, not the package's shared ``fitted_model``: the registry's churn features and
    # their wordings, on rows that make the trees use several of them.
    model = fit_scoring_model(
        _training_frame(seed=3),
        specs,
        task=Task.CHURN,
        seed=1,
        calibration_method="sigmoid",
        params={"n_estimators": 25, "min_child_samples": 10},
        vocabulary=sim_vocabulary(Task.CHURN),
    )
    hashes = model.save(tmp_path / "model")
    loaded = ScoringModel.load(tmp_path / "model", expected_sha256=hashes)
    for current in (model, loaded):
        contributions = current.contributions(SCORED)
        reasons = explain(current, SCORED, contributions, top_k=len(FITTED))
        for row_number, row_reasons in enumerate(reasons):
            used = {
                name
                for index, name in enumerate(current.feature_names)
                if contributions[row_number, index] != 0.0
            }
            assert len(used) >= 3, "the fixture should make the trees use several features"
            expected = {name: EXPECTED[row_number][name] for name in used}
            assert {r.feature: r.text for r in row_reasons} == expected


@pytest.mark.parametrize("task", list(Task))
def test_explain_words_every_registry_feature_as_phrase_does(task: Task) -> None:
    class RegistryModel:
        feature_specs = _model_features(task)

    specs = RegistryModel.feature_specs
    rng = np.random.default_rng(7)
    rows = 40
    frame = pd.DataFrame(
        {
            s.name: rng.choice(["email", "phone"], rows)
            if s.unit == "category"
            else np.where(rng.random(rows) < 0.2, np.nan, rng.integers(-2, 5, rows) * 1.0)
            for s in specs
        }
    )
    frame.iloc[0] = np.nan  # an entity with no history at all
    contributions = rng.normal(size=(rows, len(specs) + 1))
    reasons = explain(RegistryModel(), frame, contributions, top_k=len(specs))  # type: ignore[arg-type]
    for row_number, row_reasons in enumerate(reasons):
        row = {
            s.name: None if pd.isna(v) else v
            for s, v in zip(specs, frame.iloc[row_number], strict=True)
        }
        assert len(row_reasons) == len(specs)
        for reason in row_reasons:
            spec = next(s for s in specs if s.name == reason.feature)
            assert reason.text == phrase(spec, row, specs)
