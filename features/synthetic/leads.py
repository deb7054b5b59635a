"""Leads: hidden intent drives a daily funnel chain (cold, engaged, evaluating, negotiating).

A lead's intent ``z`` (a hidden normal draw plus the pull of its source, size and product) sets
how fast it climbs the funnel, how often it opens and answers emails, takes meetings, asks for
demos and samples, and how soon a negotiated deal is signed. Every stage has its own event mix,
so the stage and, through response rates, the intent can be read off the history; most of the
remaining uncertainty is when (and whether) the next step happens.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from features.synthetic.calendar import HistoryCalendar, business_activity, deal_closing
from features.synthetic.chains import ChainModel, ChainPath, DayHook, simulate_chain
from features.synthetic.events import (
    EventBatch,
    EventKind,
    Marker,
    Vocabulary,
    add_exact_duplicates,
    cut_pieces,
    draw_arrival_seconds,
    draw_kind,
    draw_markers,
)
from features.synthetic.noise import draw_levels

STAGES = ("cold", "engaged", "evaluating", "negotiating")
WON, LOST = 0, 1  # exit kinds

SOURCES = ("inbound_web", "referral", "outbound_call", "trade_show")
SOURCE_WEIGHTS = (0.38, 0.14, 0.33, 0.15)
SOURCE_PULL = (0.4, 1.1, -0.7, 0.0)
COMPANY_SIZES = ("1-10", "11-50", "51-200", "201-1000", "1000+")
SIZE_WEIGHTS = (0.34, 0.3, 0.2, 0.11, 0.05)
SIZE_PULL = (0.2, 0.0, -0.2, -0.4, -0.6)
DEAL_MEDIAN = (1_200.0, 4_000.0, 12_000.0, 35_000.0, 80_000.0)
PRODUCTS = ("paper", "toner", "special_inks", "furniture")
PRODUCT_WEIGHTS = (0.35, 0.3, 0.15, 0.2)
PRODUCT_PULL = (0.1, 0.1, 0.0, -0.2)
# What the lead asked for when it arrived (web form, referral note, show badge scan).
FIRST_TOUCHES = ("quote_request", "callback_request", "catalogue_download", "newsletter_signup")
FIRST_TOUCH_WEIGHTS = (0.15, 0.25, 0.35, 0.25)
FIRST_TOUCH_PULL = (1.0, 0.5, 0.0, -0.7)
PRODUCT_DEAL_FACTOR = (0.7, 1.0, 1.2, 2.0)


@dataclass(frozen=True)
class LeadDynamics:
    """Daily hazards of the funnel; ``*_slope`` is the effect of one unit of intent (log scale)."""

    intent_spread: float = 0.25
    advance: tuple[float, float, float] = (1 / 70, 1 / 35, 1 / 28)
    advance_slope: float = 0.8
    win: float = 1 / 22
    win_slope: float = 0.3
    lost: tuple[float, float, float, float] = (1 / 110, 1 / 90, 1 / 90, 1 / 55)
    lost_slope: float = -0.4


LEAD_EVENT_KINDS: tuple[tuple[EventKind, float], ...] = (
    # (kind, intent slope of its rate)
    (
        EventKind(
            "email_open",
            (0.25, 0.3, 0.3, 0.25),
            ("email",),
            (1.0,),
            (1.0,) * 4,
            ("opened",),
            ((1.0,),) * 4,
        ),
        # Opens of the nurture sequence are the clearest early read of a lead's intent.
        1.0,
    ),
    (
        EventKind(
            "email_reply",
            (0.006, 0.05, 0.07, 0.09),
            ("email",),
            (1.0,),
            (1.0,) * 4,
            ("positive", "neutral", "negative"),
            ((0.2, 0.5, 0.3), (0.45, 0.45, 0.1), (0.55, 0.4, 0.05), (0.6, 0.35, 0.05)),
        ),
        0.5,
    ),
    (
        EventKind(
            "call",
            (0.05, 0.06, 0.06, 0.06),
            ("phone",),
            (1.0,),
            (0.05, 0.25, 0.3, 0.35),
            ("connected", "voicemail", "no_answer"),
            ((0.2, 0.4, 0.4), (0.5, 0.3, 0.2), (0.6, 0.25, 0.15), (0.7, 0.2, 0.1)),
        ),
        0.0,
    ),
    (
        EventKind(
            "meeting",
            (0.0, 0.025, 0.05, 0.05),
            ("video", "in_person"),
            (0.7, 0.3),
            (0.0, 0.2, 0.2, 0.2),
            ("held", "no_show"),
            ((0.5, 0.5), (0.75, 0.25), (0.9, 0.1), (0.92, 0.08)),
        ),
        0.3,
    ),
    (
        EventKind(
            "demo",
            (0.0, 0.003, 0.03, 0.012),
            ("video", "in_person"),
            (0.6, 0.4),
            (0.0, 0.3, 0.3, 0.3),
            ("completed", "cancelled"),
            ((0.8, 0.2), (0.8, 0.2), (0.9, 0.1), (0.9, 0.1)),
        ),
        0.3,
    ),
    (
        EventKind(
            "sample_request",
            (0.0, 0.002, 0.02, 0.008),
            ("web", "email"),
            (0.7, 0.3),
            (1.0,) * 4,
            ("shipped",),
            ((1.0,),) * 4,
        ),
        0.3,
    ),
    (
        EventKind(
            "quote",
            (0.0, 0.0, 0.004, 0.06),
            ("email",),
            (1.0,),
            (0.0, 0.1, 0.1, 0.1),
            ("sent",),
            ((1.0,),) * 4,
        ),
        0.2,
    ),
)

# What moves a lead up the funnel: a positive reply, a meeting, a quote.
LEAD_MARKERS = (
    Marker(1, 1.0, "email_reply", "email", "inbound", "positive"),
    Marker(2, 1.0, "meeting", "video", "outbound", "held"),
    Marker(3, 1.0, "quote", "email", "outbound", "sent"),
)


@dataclass(frozen=True)
class LeadWorld:
    """Simulated leads: observable attributes, hidden intent, chain, path and events."""

    created_second: np.ndarray
    source: np.ndarray
    company_size: np.ndarray
    product: np.ndarray
    first_touch: np.ndarray
    deal_size: np.ndarray
    intent: np.ndarray
    chain: ChainModel
    path: ChainPath
    events: EventBatch

    @property
    def size(self) -> int:
        return int(self.created_second.size)


def build_lead_chain(
    intent: np.ndarray, dynamics: LeadDynamics, history: HistoryCalendar
) -> ChainModel:
    """Per-lead daily probabilities of the funnel chain."""
    n = intent.size
    advance = np.zeros((n, len(STAGES)))
    advance[:, :3] = np.asarray(dynamics.advance) * np.exp(dynamics.advance_slope * intent)[:, None]
    exits = np.zeros((n, len(STAGES), 2))
    exits[:, 3, WON] = dynamics.win * np.exp(dynamics.win_slope * intent)
    exits[:, :, LOST] = np.asarray(dynamics.lost) * np.exp(dynamics.lost_slope * intent)[:, None]
    # Caps keep a day's probabilities summing below one even at the seasonal peak.
    advance = np.minimum(advance, 0.25)
    exits = np.minimum(exits, 0.12)
    season = np.vstack([deal_closing(history.days), np.ones(history.n_days)])
    return ChainModel(advance=advance, exits=exits, exit_season=season)


def simulate_leads(
    rng: np.random.Generator,
    *,
    size: int,
    history: HistoryCalendar,
    dynamics: LeadDynamics,
    vocabulary: Vocabulary,
    on_day: DayHook | None = None,
) -> LeadWorld:
    """Draw the leads, run their funnel day by day and draw their interactions."""
    created = draw_arrival_seconds(rng, history, size)
    source = draw_levels(rng, SOURCE_WEIGHTS, size)
    company_size = draw_levels(rng, SIZE_WEIGHTS, size)
    product = draw_levels(rng, PRODUCT_WEIGHTS, size)
    first_touch = draw_levels(rng, FIRST_TOUCH_WEIGHTS, size)
    intent = (
        dynamics.intent_spread * rng.standard_normal(size)
        + np.asarray(SOURCE_PULL)[source]
        + np.asarray(SIZE_PULL)[company_size]
        + np.asarray(PRODUCT_PULL)[product]
        + np.asarray(FIRST_TOUCH_PULL)[first_touch]
    )
    deal_size = (
        np.asarray(DEAL_MEDIAN)[company_size]
        * np.asarray(PRODUCT_DEAL_FACTOR)[product]
        * rng.lognormal(0.0, 0.5, size)
    )
    chain = build_lead_chain(intent, dynamics, history)
    first_day = created // 86_400 + 1  # the funnel starts the day after the lead arrives
    path = simulate_chain(chain, first_day=first_day, n_days=history.n_days, rng=rng, on_day=on_day)
    pieces = cut_pieces(path, n_days=history.n_days)
    cumulative = np.concatenate([[0.0], np.cumsum(business_activity(history.days))])
    batches = []
    for kind, slope in LEAD_EVENT_KINDS:
        batch = draw_kind(
            rng,
            kind,
            pieces,
            entity_multiplier=np.exp(slope * intent),
            cumulative_season=cumulative,
            vocabulary=vocabulary,
            missing_channel_share=0.04,
        )
        batches.append(batch)
    batches.append(draw_markers(rng, path, LEAD_MARKERS, vocabulary=vocabulary))
    drawn = EventBatch.concat(batches)
    quotes = drawn.type == vocabulary.code("quote")
    noise = rng.lognormal(0.0, 0.2, int(quotes.sum()))
    drawn.value[quotes] = np.round(deal_size[drawn.entity[quotes]] * noise, 2)
    events = add_exact_duplicates(rng, drawn, share=0.002)
    return LeadWorld(
        created_second=created,
        source=source,
        company_size=company_size,
        product=product,
        first_touch=first_touch,
        deal_size=deal_size,
        intent=intent,
        chain=chain,
        path=path,
        events=events,
    )
