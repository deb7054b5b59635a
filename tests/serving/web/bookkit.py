"""A small scores database for the reps' pages: two published runs, two reps' books.

Scores are written straight into the store (no model is trained): rep-0 owns six customers
(high, medium and low risk) and three leads, rep-1 one customer. The second run moves
C0001 up and makes C0003 new in the high tier, so "what changed" and the sparkline have
something to show.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from serving.store.database import ScoreRow, ScoreStore
from tests.serving.appkit import NOW

FIRST_AS_OF = NOW - timedelta(days=38)
SECOND_AS_OF = NOW - timedelta(days=8)
SECRET = "test-session-secret-of-at-least-32-characters"
IDLE = {
    "feature": "days_since_order",
    "value": 64.0,
    "contribution": 0.9,
    "text": "No order for 64 days; usually orders every 21 days",
}
TICKETS = {
    "feature": "support_tickets_90d",
    "value": 4.0,
    "contribution": 0.4,
    "text": "4 support tickets in the last 90 days",
}
WORTH = {
    "feature": "annual_value",
    "value": 48000.0,
    "contribution": -0.5,
    "text": "Worth 48,000 a year",
}
DEMO = {"feature": "demos_30d", "value": 2.0, "contribution": 1.1, "text": "2 demos in 30 days"}
COLD = {
    "feature": "days_since_reply",
    "value": 20.0,
    "contribution": -0.3,
    "text": "No reply for 20 days",
}

# (id, owner, probability in run 1, probability in run 2, tier in run 2, value, kind)
BOOK = (
    ("C0001", "rep-0", 0.55, 0.81, "high", 48_000.0, "customer"),
    ("C0002", "rep-0", 0.40, 0.38, "medium", 12_000.0, "customer"),
    ("C0003", "rep-0", 0.30, 0.62, "high", 5_000.0, "customer"),
    ("C0004", "rep-0", 0.05, 0.04, "low", 900_000.0, "customer"),
    ("C0005", "rep-0", 0.10, 0.28, "medium", None, "customer"),
    ("C0006", "rep-0", 0.02, 0.03, "low", 1_000.0, "customer"),
    ("C0100", "rep-1", 0.70, 0.90, "high", 70_000.0, "customer"),
    ("L0001", "rep-0", 0.40, 0.72, "hot", 30_000.0, "lead"),
    ("L0002", "rep-0", 0.30, 0.25, "warm", 8_000.0, "lead"),
    ("L0003", "rep-0", 0.05, 0.05, "cold", 2_000.0, "lead"),
)


def _tier(kind: str, probability: float) -> str:
    if kind == "lead":
        return "hot" if probability >= 0.5 else "warm" if probability >= 0.2 else "cold"
    return "high" if probability >= 0.5 else "medium" if probability >= 0.25 else "low"


def _rows(run: int) -> list[ScoreRow]:
    rows = []
    for entity_id, owner, p1, p2, _tier_2, value, kind in BOOK:
        probability = p1 if run == 1 else p2
        reasons: list[dict[str, Any]] = (
            [DEMO, COLD]
            if kind == "lead"
            else [IDLE, WORTH, TICKETS]
            if run == 2
            else [IDLE, WORTH]
        )
        rows.append(
            ScoreRow(
                entity_kind=kind,  # type: ignore[arg-type]
                entity_id=entity_id,
                owner_id=owner,
                probability=probability,
                score=round(100 * probability),
                tier=_tier(kind, probability),
                value=None if value is None else probability * value,
                reasons=reasons,
                model_name=f"salesradar-{'leads' if kind == 'lead' else 'churn'}",
                model_version=str(run),
                as_of=FIRST_AS_OF if run == 1 else SECOND_AS_OF,
            )
        )
    return rows


def publish_book(store: ScoreStore) -> str:
    """Publish the two runs; returns the published (second) run's id."""
    run_id = ""
    for run, as_of in ((1, FIRST_AS_OF), (2, SECOND_AS_OF)):
        run_id = store.begin_run(as_of=as_of, started_at=as_of + timedelta(hours=1))
        store.write_scores(run_id, _rows(run))
        store.publish(run_id, published_at=as_of + timedelta(hours=2))
    return run_id


def csrf_token(html: str) -> str:
    """The CSRF token of the first form of a page."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None, "no CSRF field on the page"
    return found.group(1)


def sign_in(client: TestClient, key: str, *, next_page: str = "") -> None:
    """Sign ``client`` in through the form, as a browser does."""
    form = client.get("/web/sign-in")
    assert form.status_code == 200, form.text
    data = {"csrf_token": csrf_token(form.text), "key": key, "next": next_page}
    response = client.post("/web/sign-in", data=data, follow_redirects=False)
    assert response.status_code == 303, response.text
