"""The rules: newly top tier, biggest moves, alerts by threshold; first run has no alerts."""

from __future__ import annotations

import pytest

from features.errors import UserError
from serving.delivery.news import build_news, read_books
from serving.store.database import ScoreStore
from tests.serving.delivery.books import T1, publish_two_runs
from tests.serving.store.test_store import publish, row


def test_each_rep_hears_what_changed_in_their_own_book(store: ScoreStore) -> None:
    _, second = publish_two_runs(store)
    run, books = read_books(store, None)
    assert run.run_id == second and run.has_previous
    assert sorted(books) == ["o1", "o2"]  # the unowned c0 belongs to nobody
    news = build_news("o1", books["o1"], run=run, alert_score_move=15, digest_items=2)
    assert [e.entity_id for e in news.newly_high_risk] == ["c1"]
    assert [e.entity_id for e in news.newly_hot] == ["l1"]
    assert [(e.entity_id, e.delta) for e in news.moves] == [("c1", 30), ("c3", -16)]
    assert [(a.entry.entity_id, a.rules) for a in news.alerts] == [
        ("c1", ("newly high", "up 30 points")),
        ("c3", ("down 16 points",)),
        ("l1", ("newly hot",)),
    ]
    # A score that fell is explained by what lowers it, one that rose by what raises it.
    by_id = {e.entity_id: e for e in news.moves}
    assert by_id["c1"].reason == "a text" and by_id["c3"].reason == "b text"
    quiet = build_news("o2", books["o2"], run=run, alert_score_move=15, digest_items=2)
    assert not quiet.has_digest() and not quiet.alerts


def test_the_threshold_decides_which_moves_alert(store: ScoreStore) -> None:
    publish_two_runs(store)
    run, books = read_books(store, None)
    news = build_news("o1", books["o1"], run=run, alert_score_move=17, digest_items=10)
    assert [(a.entry.entity_id, a.rules) for a in news.alerts] == [
        ("c1", ("newly high", "up 30 points")),
        ("l1", ("newly hot",)),
    ]


def test_the_first_run_lists_its_top_tier_and_alerts_nothing(store: ScoreStore) -> None:
    publish(store, [row("c1", 0.7, tier="high"), row("c2", 0.1, tier="low")], at=T1)
    run, books = read_books(store, None)
    news = build_news("o1", books["o1"], run=run, alert_score_move=1, digest_items=10)
    assert not run.has_previous
    assert [e.entity_id for e in news.newly_high_risk] == ["c1"]
    assert news.moves == [] and news.alerts == []


def test_an_unknown_run_or_an_empty_store_is_a_user_error(store: ScoreStore) -> None:
    with pytest.raises(UserError, match="nothing is published"):
        read_books(store, None)
    publish_two_runs(store)
    with pytest.raises(UserError, match="--run-id 0123: no published run"):
        read_books(store, "0123")
