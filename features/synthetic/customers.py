"""Customers: an order cadence, a hidden risk, and a daily engagement chain.

Each customer orders on its own cadence with its own basket size. Its engagement is a chain:
engaged -> disengaging (orders thin out to under half, baskets shrink, check-ins go unanswered)
-> gone (a stray order now and then, nothing more), with an explicit cancellation possible
from every state (rare: most leavers never say so, they just stop). The hidden risk (a normal
draw plus the pull of plan and segment) sets how soon disengagement starts and how many
complaints the customer files, so it shows in the support history; the engagement state shows
in the order rhythm against the customer's own cadence, and its onset usually in an escalated
ticket.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from features.synthetic.calendar import HistoryCalendar, business_activity
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

STATES = ("engaged", "disengaging", "gone")
CANCELLED = 0  # the only exit kind

SEGMENTS = ("small_office", "mid_market", "enterprise")
SEGMENT_WEIGHTS = (0.6, 0.3, 0.1)
SEGMENT_PULL = (0.2, 0.0, -0.3)
CADENCE_MEDIAN_DAYS = (21.0, 12.0, 7.0)
BASKET_MEDIAN = (160.0, 650.0, 2_400.0)
PLANS = ("pay_as_you_go", "monthly_contract", "annual_contract")
PLAN_WEIGHTS = (0.45, 0.35, 0.2)
PLAN_PULL = (0.4, 0.0, -0.5)
PRODUCTS = ("paper", "toner", "special_inks", "furniture")
PRODUCT_WEIGHTS = (0.45, 0.35, 0.12, 0.08)
ORDER_STATE_FACTOR = (1.0, 0.45, 0.12)
BASKET_STATE_FACTOR = (1.0, 0.75, 0.75)


@dataclass(frozen=True)
class CustomerDynamics:
    """Daily hazards of the engagement chain; ``risk_*`` is the effect of one unit of risk."""

    risk_spread: float = 0.7
    disengage: float = 1 / 700
    fade: float = 1 / 45  # disengaging -> gone
    cancel: tuple[float, float, float] = (1 / 8_000, 1 / 700, 1 / 1_200)
    cadence_spread: float = 0.4
    basket_spread: float = 0.5


CUSTOMER_EVENT_KINDS: tuple[EventKind, ...] = (
    EventKind(
        "order",
        ORDER_STATE_FACTOR,
        ("web", "phone", "email", "edi"),
        (0.55, 0.2, 0.15, 0.1),
        (1.0,) * 3,
        ("fulfilled", "backordered"),
        ((0.95, 0.05),) * 3,
    ),
    EventKind(
        "support_ticket",
        (1.0, 1.2, 0.3),
        ("email", "phone", "portal"),
        (0.4, 0.3, 0.3),
        (1.0,) * 3,
        ("resolved", "escalated"),
        ((0.85, 0.15), (0.7, 0.3), (0.6, 0.4)),
    ),
    EventKind(
        "check_in",
        (1 / 21,) * 3,
        ("phone", "email", "video"),
        (0.5, 0.4, 0.1),
        (0.05, 0.05, 0.05),
        ("connected", "no_response"),
        ((0.7, 0.3), (0.25, 0.75), (0.1, 0.9)),
    ),
    EventKind(
        "portal_login",
        (1.0, 0.25, 0.03),
        ("web",),
        (1.0,),
        (1.0,) * 3,
        ("ok",),
        ((1.0,),) * 3,
    ),
    EventKind(
        "email_open",
        (0.12, 0.04, 0.01),
        ("email",),
        (1.0,),
        (1.0,) * 3,
        ("opened",),
        ((1.0,),) * 3,
    ),
)

# Disengagement often starts with a bad experience that reaches support.
CUSTOMER_MARKERS = (Marker(1, 0.8, "support_ticket", "phone", "inbound", "escalated"),)


@dataclass(frozen=True)
class CustomerWorld:
    """Simulated customers: attributes, hidden cadence/basket/risk, chain, path and events."""

    created_second: np.ndarray
    segment: np.ndarray
    plan: np.ndarray
    product: np.ndarray
    order_rate: np.ndarray  # orders per day when engaged, before the season
    basket: np.ndarray
    risk: np.ndarray
    chain: ChainModel
    path: ChainPath
    events: EventBatch

    @property
    def size(self) -> int:
        return int(self.created_second.size)

    def order_rates(self) -> np.ndarray:
        """(n, states): daily order rate in each engagement state, before the season."""
        return np.asarray(self.order_rate[:, None] * np.asarray(ORDER_STATE_FACTOR)[None, :])


def build_customer_chain(
    risk: np.ndarray, dynamics: CustomerDynamics, history: HistoryCalendar
) -> ChainModel:
    """Per-customer daily probabilities of the engagement chain."""
    n = risk.size
    advance = np.zeros((n, len(STATES)))
    advance[:, 0] = np.minimum(dynamics.disengage * np.exp(risk), 0.2)
    advance[:, 1] = dynamics.fade
    exits = np.broadcast_to(np.asarray(dynamics.cancel)[None, :, None], (n, len(STATES), 1))
    return ChainModel(
        advance=advance, exits=np.ascontiguousarray(exits), exit_season=np.ones((1, history.n_days))
    )


def simulate_customers(
    rng: np.random.Generator,
    *,
    size: int,
    history: HistoryCalendar,
    dynamics: CustomerDynamics,
    vocabulary: Vocabulary,
    on_day: DayHook | None = None,
) -> CustomerWorld:
    """Draw the customers, run their engagement day by day and draw their activity."""
    created = draw_arrival_seconds(rng, history, size, front_share=0.35)
    segment = draw_levels(rng, SEGMENT_WEIGHTS, size)
    plan = draw_levels(rng, PLAN_WEIGHTS, size)
    product = draw_levels(rng, PRODUCT_WEIGHTS, size)
    cadence = np.asarray(CADENCE_MEDIAN_DAYS)[segment] * rng.lognormal(
        0.0, dynamics.cadence_spread, size
    )
    # The season averages below one (weekends); scale so the realized cadence matches.
    mean_season = float(business_activity(history.days).mean())
    order_rate = 1.0 / (np.clip(cadence, 3.0, 120.0) * mean_season)
    basket = np.asarray(BASKET_MEDIAN)[segment] * rng.lognormal(0.0, dynamics.basket_spread, size)
    risk = (
        dynamics.risk_spread * rng.standard_normal(size)
        + np.asarray(PLAN_PULL)[plan]
        + np.asarray(SEGMENT_PULL)[segment]
    )
    chain = build_customer_chain(risk, dynamics, history)
    first_day = created // 86_400 + 1
    path = simulate_chain(chain, first_day=first_day, n_days=history.n_days, rng=rng, on_day=on_day)
    pieces = cut_pieces(path, n_days=history.n_days)
    cumulative = np.concatenate([[0.0], np.cumsum(business_activity(history.days))])
    multipliers = {
        "order": order_rate,
        "support_ticket": 0.012 * np.exp(0.6 * risk),
        "check_in": np.ones(size),
        "email_open": np.ones(size),
        # Heavier buyers log into the ordering portal more often.
        "portal_login": 0.5 * order_rate**0.5,
    }
    batches = []
    for kind in CUSTOMER_EVENT_KINDS:
        batch = draw_kind(
            rng,
            kind,
            pieces,
            entity_multiplier=multipliers[kind.type],
            cumulative_season=cumulative,
            vocabulary=vocabulary,
            missing_channel_share=0.03,
        )
        if kind.type == "order":
            noise = rng.lognormal(0.0, 0.45, len(batch))
            state_factor = np.asarray(BASKET_STATE_FACTOR)[batch.state]
            batch.value = np.round(basket[batch.entity] * state_factor * noise, 2)
        batches.append(batch)
    batches.append(draw_markers(rng, path, CUSTOMER_MARKERS, vocabulary=vocabulary))
    events = add_exact_duplicates(rng, EventBatch.concat(batches), share=0.002)
    return CustomerWorld(
        created_second=created,
        segment=segment,
        plan=plan,
        product=product,
        order_rate=order_rate,
        basket=basket,
        risk=risk,
        chain=chain,
        path=path,
        events=events,
    )
