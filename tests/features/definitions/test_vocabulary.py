"""The event vocabulary: one normalisation rule, learnt from the export, expanded alike in batch
and online, carried with the model, and honest about types it never saw."""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
import pytest

from features.compute.online import online_feature_frame
from features.compute.snapshots import build_feature_table
from features.contract.tasks import Task
from features.definitions.registry import feature_specs
from features.definitions.vocabulary import (
    EventWording,
    Vocabulary,
    VocabularyError,
    VocabularySettings,
    learn_vocabulary,
    normalise_event_type,
)
from tests.features.test_features_support import (
    assert_frames_match,
    make_export,
    online_entities,
)

CUTOFF = datetime(2024, 7, 1)


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("Email_Reply", "email_reply"),
        ("email reply ", "email_reply"),
        ("  EMAIL-REPLY", "email_reply"),
        ("email__-  reply", "email_reply"),
        ("CALL", "call"),
        ("Zq Email Open", "zq_email_open"),
        ("session:pricing/page", "session:pricing/page"),
        ("--", ""),
        ("Angebot\u00a0verschickt", "angebot_verschickt"),  # a no-break space separates too
        ("\u3000\u2009", ""),
    ],
)
def test_one_rule_normalises_type_names(raw: str, normal: str) -> None:
    assert normalise_event_type(raw) == normal


def _lead(lead_id: str) -> dict[str, object]:
    return {"lead_id": lead_id, "created_at": datetime(2024, 1, 1), "owner_id": "o1"}


def _events(lead_id: str, kind: str, n: int, value: float | None = None) -> list[dict]:
    start = datetime(2024, 2, 1)
    return [
        {
            "lead_id": lead_id,
            "occurred_at": start + timedelta(hours=i),
            "type": kind,
            "value": value,
            "channel": None,
            "direction": "inbound",
            "outcome": None,
        }
        for i in range(n)
    ]


def test_learning_applies_the_floor_the_cap_and_the_valued_share() -> None:
    events = [
        *_events("L1", "Webinar", 30),
        *_events("L1", "webinar ", 25),  # one type with the line above: 55 events
        *_events("L1", "opportunity_created", 60, value=5000.0),
        *_events("L1", "demo", 51),
        *_events("L1", "linkedin message", 10),  # under the floor: pooled as "other"
        *_events("L1", "later_type", 80),
    ]
    for event in events[-80:]:
        event["occurred_at"] = CUTOFF  # not before the as-of: never read
    export = make_export(Task.LEADS, [_lead("L1")], events)
    settings = VocabularySettings(min_events=50, max_types=2)
    vocabulary = learn_vocabulary(export, task=Task.LEADS, before=CUTOFF, settings=settings)
    # The two most frequent types with >= 50 events; the cap leaves demo (51) out.
    assert [(k.slug, k.types, k.valued, k.events) for k in vocabulary.kinds] == [
        ("opportunity_created", ("opportunity_created",), True, 60),
        ("webinar", ("webinar",), False, 55),
    ]
    assert vocabulary.code("WEBINAR") == 2 and vocabulary.code("demo") == 0
    assert not vocabulary.purchase and vocabulary.activity_types == ()
    names = {s.name for s in feature_specs(Task.LEADS, vocabulary)}
    assert {"webinar_count_30d", "opportunity_created_value_90d", "other_count_7d"} <= names
    assert not any(n.startswith("demo_") for n in names)


def test_one_activity_type_is_the_purchase_kind() -> None:
    vocabulary = Vocabulary.of_types(Task.CHURN, ["ticket"], activity_types=("Order",))
    assert [(k.slug, k.types) for k in vocabulary.kinds] == [
        ("purchase", ("order",)),
        ("ticket", ("ticket",)),
    ]
    assert (vocabulary.purchase_span, vocabulary.purchase_code) == (1, 1)
    names = {s.name for s in feature_specs(Task.CHURN, vocabulary)}
    assert {"purchase_count_30d", "median_days_between_purchases", "ticket_90d_vs_usual"} <= names
    assert "purchase_90d_vs_usual" not in names


def test_several_activity_types_keep_their_own_features_and_pool_for_purchases() -> None:
    vocabulary = Vocabulary.of_types(
        Task.CHURN, ["Refill", "ticket"], activity_types=("Purchase", "refill"), valued=["refill"]
    )
    assert [(k.slug, k.types, k.valued) for k in vocabulary.kinds] == [
        ("purchase_type", ("purchase",), False),
        ("refill", ("refill",), True),
        ("ticket", ("ticket",), False),
    ]
    assert (vocabulary.purchase_span, vocabulary.purchase_code) == (2, (1, 2))
    assert vocabulary.activity_types == ("purchase", "refill")
    assert vocabulary.code("REFILL") == 2 and vocabulary.code("purchase") == 1
    names = {s.name for s in feature_specs(Task.CHURN, vocabulary)}
    # Per type, and over the pool (the purchase family and cadence read codes 1..2).
    assert {"refill_count_30d", "refill_value_90d", "purchase_type_count_30d"} <= names
    assert {"purchase_count_30d", "purchase_value_90d", "median_days_between_purchases"} <= names
    assert {"refill_90d_vs_usual", "ticket_90d_vs_usual"} <= names


def test_pooled_purchase_types_agree_in_batch_and_online() -> None:
    vocabulary = Vocabulary.of_types(
        Task.CHURN, ["ticket"], activity_types=("like", "post"), valued=()
    )
    customer = {"customer_id": "c1", "created_at": datetime(2024, 1, 1), "owner_id": "o1"}
    times = [datetime(2024, 3, 1), datetime(2024, 4, 1), datetime(2024, 5, 1), datetime(2024, 6, 1)]
    rows = [
        {"customer_id": "c1", "occurred_at": at, "type": kind, "value": None, "channel": None,
         "direction": None, "outcome": None}
        for at, kind in zip(times, ["like", "post", "ticket", "Post"], strict=True)
    ]  # fmt: skip
    export = make_export(Task.CHURN, [customer], rows)
    specs = feature_specs(Task.CHURN, vocabulary)
    pairs = pd.DataFrame({"entity_id": ["c1"], "cutoff": CUTOFF})
    batch = build_feature_table(
        export, task=Task.CHURN, pairs=pairs, vocabulary=vocabulary, specs=specs
    ).set_index("entity_id")
    online = online_feature_frame(
        Task.CHURN,
        online_entities(Task.CHURN, [customer], rows),
        as_of=CUTOFF,
        vocabulary=vocabulary,
        specs=specs,
    )
    assert_frames_match(batch, online, [s.name for s in specs])
    for frame in (batch, online):
        assert frame.loc["c1", "purchase_count_all"] == 3.0  # like, post, Post; not the ticket
        assert frame.loc["c1", "post_count_365d"] == 2.0
        assert frame.loc["c1", "days_since_first_purchase"] == 122.0
        # Gaps between purchases 31 and 61 days (the ticket is not one): median 46.
        assert frame.loc["c1", "median_days_between_purchases"] == 46.0


def test_a_missing_activity_type_names_what_the_export_has() -> None:
    customer = {"customer_id": "c1", "created_at": datetime(2024, 1, 1), "owner_id": "o1"}
    events = [
        {"customer_id": "c1", "occurred_at": datetime(2024, 2, 1), "type": "Purchase"},
        {"customer_id": "c1", "occurred_at": datetime(2024, 2, 2), "type": "Purchase"},
    ]
    export = make_export(Task.CHURN, [customer], events)
    with pytest.raises(VocabularyError) as caught:
        learn_vocabulary(
            export, task=Task.CHURN, before=CUTOFF, settings=VocabularySettings(min_events=1)
        )
    assert str(caught.value) == (
        "activity type(s) 'order' (what counts as a purchase for churn) do not occur in "
        "customer_events before 2024-07-01; types seen: purchase. Set [vocabulary] "
        "activity_types in the training config or pass --activity-types"
    )


def test_feature_names_stay_safe_and_distinct() -> None:
    vocabulary = Vocabulary.of_types(
        Task.LEADS, ['Pricing "page" {view}', "pricing page view", "other", "purchase", "Event"]
    )
    # Kinds come most frequent first, then by name (all 0 here): feature order is stable.
    slugs = [k.slug for k in vocabulary.kinds]
    assert slugs == [
        "event_type",
        "other_type",
        "pricing_page_view",
        "pricing_page_view_2",
        "purchase_type",
    ]


def test_the_vocabulary_round_trips_as_data() -> None:
    vocabulary = Vocabulary.of_types(
        Task.CHURN,
        ["ticket"],
        activity_types=("order",),
        wording={"ticket": EventWording("case", "cases", counted=("none", "one", "{value}"))},
    )
    assert Vocabulary.from_dict(vocabulary.to_dict()) == vocabulary
    with pytest.raises(VocabularyError, match="malformed vocabulary"):
        Vocabulary.from_dict({"task": "churn", "kinds": [{"slug": "x"}], "purchase": False})


EVENTS = [
    ("L1", datetime(2024, 6, 1), "Webinar", None, "inbound"),
    ("L1", datetime(2024, 6, 2), "webinar ", None, "inbound"),
    ("L1", datetime(2024, 6, 2), "WEBINAR", None, " Inbound"),  # the line above, respelt
    ("L1", datetime(2024, 6, 20), "Opportunity-Created", 1200.0, "outbound"),
    ("L1", datetime(2024, 6, 20), "opportunity_created", 1200.00, "OUTBOUND"),  # again
    ("L1", datetime(2024, 6, 25), "never seen before", None, "inbound"),
    ("L2", datetime(2024, 6, 30), "podcast", None, None),
    ("L2", datetime(2024, 7, 1), "webinar", None, "inbound"),  # at the cutoff: not counted
]


def test_batch_and_online_agree_on_spellings_duplicates_and_unseen_types() -> None:
    vocabulary = Vocabulary.of_types(
        Task.LEADS, ["webinar", "opportunity_created"], valued=["opportunity_created"]
    )
    leads = [_lead("L1"), _lead("L2")]
    rows = [
        {
            "lead_id": lead,
            "occurred_at": at,
            "type": kind,
            "value": value,
            "channel": None,
            "direction": direction,
            "outcome": None,
        }
        for lead, at, kind, value, direction in EVENTS
    ]
    export = make_export(Task.LEADS, leads, rows)
    specs = feature_specs(Task.LEADS, vocabulary)
    pairs = pd.DataFrame({"entity_id": ["L1", "L2"], "cutoff": CUTOFF})
    batch = build_feature_table(
        export, task=Task.LEADS, pairs=pairs, vocabulary=vocabulary, specs=specs
    ).set_index("entity_id")
    online = online_feature_frame(
        Task.LEADS,
        online_entities(Task.LEADS, leads, rows),
        as_of=CUTOFF,
        vocabulary=vocabulary,
        specs=specs,
    )
    assert_frames_match(batch, online, [s.name for s in specs])
    for frame in (batch, online):
        assert frame.loc["L1", "webinar_count_90d"] == 2.0  # two spellings, one duplicate
        assert frame.loc["L1", "opportunity_created_count_30d"] == 1.0  # 1200 == 1200.00
        assert frame.loc["L1", "opportunity_created_value_30d"] == 1200.0
        assert frame.loc["L1", "other_count_30d"] == 1.0
        assert frame.loc["L2", "other_count_30d"] == 1.0
        assert frame.loc["L2", "webinar_count_365d"] == 0.0
        assert frame.loc["L1", "event_count_365d"] == 4.0
        assert frame.loc["L1", "inbound_share_90d"] == 3 / 4  # directions normalised alike
