"""What each rep hears about one published run: digest sections and alerts (pure rules).

``read_books`` pages through a published run with ``ScoreStore.list_scores`` (read-only) and
groups the rows by owner; each row carries the entity's score and tier in the run published
just before it. ``build_news`` then applies the rules to one rep's rows:

- newly top tier: "high" churn risk or "hot" lead now, and not in that tier in the previous run
  (an entity the previous run did not score counts as new). Without any previous run (the first
  published run) there is nothing to compare with: the digest lists the whole top tier as new
  and no alert fires, since alerts are about change.
- biggest moves: the largest absolute score changes (0-100 points), ties by entity id.
- alerts: newly top tier, or a score that moved by at least ``alert_score_move`` points.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from features.contract.tasks import KIND_TASKS, EntityKind
from features.model.tiers import TIER_NAMES
from serving.delivery.published import resolve_run, run_pages
from serving.store.database import ListedScore, ScoreStore


@dataclass(frozen=True)
class RunInfo:
    """The published run a message reports on (times naive UTC, as stored)."""

    run_id: str
    as_of: datetime
    published_at: datetime
    has_previous: bool


@dataclass(frozen=True)
class Entry:
    """One entity in a message: its score now and in the previous run (None: not scored)."""

    entity_kind: EntityKind
    entity_id: str
    score: int
    tier: str
    previous_score: int | None
    previous_tier: str | None
    value: float | None
    reason: str | None  # the strongest stored reason pushing the way the score went

    @property
    def delta(self) -> int | None:
        """Points moved since the previous run (None when it was not scored there)."""
        return None if self.previous_score is None else self.score - self.previous_score


@dataclass(frozen=True)
class Alert:
    """An entry and the rules it tripped, e.g. ``("newly high", "up 18 points")``."""

    entry: Entry
    rules: tuple[str, ...]


@dataclass(frozen=True)
class RepNews:
    """Everything one rep hears about one run; empty lists mean nothing to say."""

    owner_id: str
    run: RunInfo
    newly_high_risk: list[Entry]
    newly_hot: list[Entry]
    moves: list[Entry]
    alerts: list[Alert]

    def has_digest(self) -> bool:
        """True when the digest has at least one entry (an empty digest is not sent)."""
        return bool(self.newly_high_risk or self.newly_hot or self.moves)


def strongest_reason(reasons: list[dict[str, Any]], *, rising: bool) -> str | None:
    """The text of the stored reason with the largest contribution that raises the score
    (``rising``) or lowers it; None when no stored reason points that way."""
    signed = [r for r in reasons if (float(r["contribution"]) > 0) == rising]
    if not signed:
        return None
    strongest = max(signed, key=lambda r: abs(float(r["contribution"])))
    return str(strongest.get("text") or strongest["feature"])


def _by_score(entry: Entry) -> tuple[int, str]:
    return (-entry.score, entry.entity_id)


def to_entry(row: ListedScore) -> Entry:
    """A stored list row as a message entry; its reason follows the score's move (a score
    that fell is explained by what lowers it), else what raises it."""
    falling = row.previous_score is not None and row.score < row.previous_score
    return Entry(
        entity_kind=row.entity_kind,
        entity_id=row.entity_id,
        score=row.score,
        tier=row.tier,
        previous_score=row.previous_score,
        previous_tier=row.previous_tier,
        value=row.value,
        reason=strongest_reason(row.reasons, rising=not falling),
    )


def read_books(
    store: ScoreStore, run_id: str | None
) -> tuple[RunInfo, dict[str, list[ListedScore]]]:
    """The run (``run_id``, default the published one) and its rows by ``owner_id``.

    Rows without an owner belong to no rep and are left out. Raises ``UserError`` when nothing
    is published yet or ``run_id`` names no published run (removed by retention, say).
    """
    chosen = resolve_run(store, run_id)
    books: dict[str, list[ListedScore]] = defaultdict(list)
    info: RunInfo | None = None
    for kind in KIND_TASKS:
        for page in run_pages(store, kind, chosen):
            if info is None and page.as_of is not None and page.published_at is not None:
                has_previous = page.previous_run_id is not None
                info = RunInfo(chosen, page.as_of, page.published_at, has_previous)
            for row in page.items:
                if row.owner_id is not None:
                    books[row.owner_id].append(row)
    assert info is not None  # list_scores pins a published run, which always has its times
    return info, dict(books)


def build_news(
    owner_id: str,
    rows: list[ListedScore],
    *,
    run: RunInfo,
    alert_score_move: int,
    digest_items: int,
) -> RepNews:
    """Apply the module's rules to one rep's rows of ``run``; ``digest_items`` caps the moves
    (the newly-top sections are complete; rendering shortens them)."""
    entries = [to_entry(row) for row in rows]
    newly_top: dict[EntityKind, list[Entry]] = {"customer": [], "lead": []}
    alerts: list[Alert] = []
    for entry in entries:
        top = TIER_NAMES[KIND_TASKS[entry.entity_kind]][0]
        newly = entry.tier == top and entry.previous_tier != top
        if newly:
            newly_top[entry.entity_kind].append(entry)
        if not run.has_previous:
            continue
        rules = [f"newly {top}"] if newly else []
        delta = entry.delta
        if delta is not None and abs(delta) >= alert_score_move:
            rules.append(f"{'up' if delta > 0 else 'down'} {abs(delta)} points")
        if rules:
            alerts.append(Alert(entry, tuple(rules)))
    moved = [e for e in entries if e.delta]
    moved.sort(key=lambda e: (-abs(e.delta or 0), e.entity_kind, e.entity_id))
    return RepNews(
        owner_id=owner_id,
        run=run,
        newly_high_risk=sorted(newly_top["customer"], key=_by_score),
        newly_hot=sorted(newly_top["lead"], key=_by_score),
        moves=moved[:digest_items],
        alerts=sorted(alerts, key=lambda a: (a.entry.entity_kind, *_by_score(a.entry))),
    )
