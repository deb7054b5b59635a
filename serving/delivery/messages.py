"""A rep's news as a message: subject, sections and lines, the one model every channel renders.

Wording lives here once; ``serving.delivery.render`` only lays it out as plain text, HTML,
Slack blocks, a Teams card or the generic JSON. Each line links to the entity's page,
``{public_url}/web/customers/{id}`` or ``…/web/leads/{id}`` (serving.web.paths), when the
public URL is configured.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from features.contract.times import iso_utc
from serving.delivery.news import Entry, RepNews
from serving.web.paths import entity_href

MessageKind = Literal["digest", "alert"]
VALUE_LABELS = {"customer": "value at risk", "lead": "expected value"}


@dataclass(frozen=True)
class Line:
    """One entity: ``headline`` to read, ``reason`` (may be None), ``link`` (None: no public
    URL), the entry's numbers for machine readers, and the alert rules it tripped."""

    entry: Entry
    headline: str
    reason: str | None
    link: str | None
    rules: tuple[str, ...] = ()


@dataclass(frozen=True)
class Section:
    """A heading, its lines (at most ``digest_items``) and how many more were left out."""

    heading: str
    lines: list[Line]
    more: int


@dataclass(frozen=True)
class Message:
    """One message for one rep about one run; ``as_of`` / ``published_at`` are ISO 8601 UTC."""

    kind: MessageKind
    owner_id: str
    run_id: str
    as_of: str
    published_at: str
    subject: str
    intro: str
    sections: list[Section]


def entity_link(public_url: str | None, entry: Entry) -> str | None:
    """The entity page reps open, or None without ``public_url`` (the id is URL-quoted)."""
    if public_url is None:
        return None
    return public_url.rstrip("/") + entity_href(entry.entity_kind, entry.entity_id)


def headline(entry: Entry) -> str:
    """``Customer C-12: score 71 (was 48, +23), high (was medium), value at risk 12,345``."""
    parts = [f"{entry.entity_kind.capitalize()} {entry.entity_id}: score {entry.score}"]
    if entry.previous_score is None:
        parts[0] += " (new)"
    elif entry.delta:
        parts[0] += f" (was {entry.previous_score}, {entry.delta:+d})"
    tier = entry.tier
    if entry.previous_tier is not None and entry.previous_tier != entry.tier:
        tier += f" (was {entry.previous_tier})"
    parts.append(tier)
    if entry.value is not None:
        parts.append(f"{VALUE_LABELS[entry.entity_kind]} {entry.value:,.0f}")
    return ", ".join(parts)


def _section(
    heading: str, entries: list[Entry], *, limit: int, public_url: str | None
) -> Section | None:
    if not entries:
        return None
    lines = [Line(e, headline(e), e.reason, entity_link(public_url, e)) for e in entries[:limit]]
    return Section(heading, lines, max(0, len(entries) - limit))


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def build_digest(news: RepNews, *, public_url: str | None, digest_items: int) -> Message:
    """The digest: newly high-risk customers, newly hot leads, biggest moves (empty sections
    are left out; call only when ``news.has_digest()``)."""
    run = news.run
    sections = [
        _section(heading, entries, limit=digest_items, public_url=public_url)
        for heading, entries in (
            ("Newly high-risk customers", news.newly_high_risk),
            ("Newly hot leads", news.newly_hot),
            ("Biggest score moves", news.moves),
        )
    ]
    counts = [
        _count(len(news.newly_high_risk), "newly high-risk customer", "newly high-risk customers"),
        _count(len(news.newly_hot), "newly hot lead", "newly hot leads"),
    ]
    baseline = "" if run.has_previous else " This is the first published run: nothing to compare."
    return Message(
        kind="digest",
        owner_id=news.owner_id,
        run_id=run.run_id,
        as_of=iso_utc(run.as_of),
        published_at=iso_utc(run.published_at),
        subject=f"salesradar digest as of {iso_utc(run.as_of)}: {', '.join(counts)}",
        intro=f"Your book as scored as of {iso_utc(run.as_of)} "
        f"(published {iso_utc(run.published_at)}).{baseline}",
        sections=[s for s in sections if s is not None],
    )


def build_alert(news: RepNews, *, public_url: str | None) -> Message:
    """The immediate alert: every entity that tripped a rule, none left out."""
    run = news.run
    lines = [
        Line(
            a.entry,
            headline(a.entry),
            a.entry.reason,
            entity_link(public_url, a.entry),
            a.rules,
        )
        for a in news.alerts
    ]
    return Message(
        kind="alert",
        owner_id=news.owner_id,
        run_id=run.run_id,
        as_of=iso_utc(run.as_of),
        published_at=iso_utc(run.published_at),
        subject=f"salesradar alert: {_count(len(lines), 'account needs', 'accounts need')} "
        "attention now",
        intro=f"These changed sharply in the run as of {iso_utc(run.as_of)}.",
        sections=[Section("Alerts", lines, 0)],
    )
