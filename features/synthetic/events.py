"""Interaction events drawn from the latent state path, fully vectorized.

An entity's path is cut into pieces (one per state it visited). On a piece, events of one kind
are a Poisson process whose daily mean is ``rate(entity, state) * season(day)``; the count of a
piece is one Poisson draw and the days are placed by inverting the cumulative seasonal mass.
The exit day carries no events, so nothing happens after a conversion or a cancellation.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from features.synthetic.calendar import SECONDS_PER_DAY, HistoryCalendar, business_activity
from features.synthetic.chains import ChainPath

BUSINESS_HOURS = (7 * 3600, 19 * 3600)
OFF_HOURS_SHARE = 0.08


@dataclass(frozen=True)
class EventKind:
    """One event type: its daily rate in each state and how its text columns are drawn."""

    type: str
    rates: tuple[float, ...]  # per state, before the entity's own multiplier and the season
    channels: tuple[str, ...]
    channel_weights: tuple[float, ...]
    inbound_share: tuple[float, ...]  # per state: share of events the entity started
    outcomes: tuple[str, ...]
    outcome_weights: tuple[tuple[float, ...], ...]  # per state


@dataclass
class Vocabulary:
    """Text values of the event tables, encoded as small integer codes."""

    strings: list[str] = field(default_factory=list)

    def code(self, text: str) -> int:
        if text not in self.strings:
            self.strings.append(text)
        return self.strings.index(text)

    def codes(self, texts: tuple[str, ...]) -> np.ndarray:
        return np.array([self.code(t) for t in texts], dtype=np.int16)

    def to_arrow(self, codes: np.ndarray) -> pa.Array:
        """Dictionary-encoded text (code -1 becomes null): cheap to build and to write."""
        indices = pa.array(codes, mask=codes < 0, type=pa.int32())
        return pa.DictionaryArray.from_arrays(indices, pa.array(self.strings, type=pa.string()))


@dataclass
class EventBatch:
    """Events of one table, columnar; text columns hold ``Vocabulary`` codes (-1 = missing)."""

    entity: np.ndarray
    state: np.ndarray
    second: np.ndarray  # seconds since the calendar start
    type: np.ndarray
    value: np.ndarray  # NaN: no amount
    channel: np.ndarray
    direction: np.ndarray
    outcome: np.ndarray

    @classmethod
    def concat(cls, batches: list[EventBatch]) -> EventBatch:
        names = ("entity", "state", "second", "type", "value", "channel", "direction", "outcome")
        return cls(**{n: np.concatenate([getattr(b, n) for b in batches]) for n in names})

    def take(self, index: np.ndarray) -> EventBatch:
        return EventBatch(**{n: v[index] for n, v in vars(self).items()})

    def __len__(self) -> int:
        return int(self.entity.size)


@dataclass(frozen=True)
class Pieces:
    """The stays of every entity in every state, flattened: days ``[start, end)``."""

    entity: np.ndarray
    state: np.ndarray
    start: np.ndarray
    end: np.ndarray


def cut_pieces(path: ChainPath, *, n_days: int) -> Pieces:
    """Flatten a chain path into its non-empty stays."""
    ends = path.piece_ends(n_days)
    n, k = ends.shape
    starts = path.entry_day
    keep = (starts >= 0) & (ends > starts)
    entity = np.broadcast_to(np.arange(n)[:, None], (n, k))[keep]
    state = np.broadcast_to(np.arange(k)[None, :], (n, k))[keep]
    return Pieces(entity=entity, state=state, start=starts[keep], end=ends[keep])


def draw_times_of_day(rng: np.random.Generator, size: int) -> np.ndarray:
    """Seconds after midnight, mostly office hours, never exactly 00:00:00."""
    office = rng.integers(*BUSINESS_HOURS, size=size)
    anytime = rng.integers(1, SECONDS_PER_DAY, size=size)
    return np.where(rng.random(size) < OFF_HOURS_SHARE, anytime, office)


def draw_piece_events(
    rng: np.random.Generator,
    pieces: Pieces,
    *,
    rate: np.ndarray,
    cumulative_season: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """(piece index, second since calendar start) of each event; ``rate`` is per piece."""
    mass = cumulative_season[pieces.end] - cumulative_season[pieces.start]
    counts = rng.poisson(rate * mass)
    piece = np.repeat(np.arange(counts.size), counts)
    target = cumulative_season[pieces.start[piece]] + rng.random(piece.size) * mass[piece]
    day = np.searchsorted(cumulative_season, target, side="right") - 1
    day = np.clip(day, pieces.start[piece], pieces.end[piece] - 1)
    return piece, day * SECONDS_PER_DAY + draw_times_of_day(rng, piece.size)


def draw_categories(rng: np.random.Generator, weights: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """One category index per event, drawn from ``weights[rows[i]]`` (few distinct rows)."""
    cumulative = np.cumsum(weights, axis=1)
    cumulative /= cumulative[:, -1:]
    u = rng.random(rows.size)
    drawn = np.empty(rows.size, dtype=np.int64)
    for row in range(weights.shape[0]):
        mine = rows == row
        drawn[mine] = np.searchsorted(cumulative[row], u[mine], side="right")
    return np.asarray(np.minimum(drawn, weights.shape[1] - 1))


def draw_kind(
    rng: np.random.Generator,
    kind: EventKind,
    pieces: Pieces,
    *,
    entity_multiplier: np.ndarray,
    cumulative_season: np.ndarray,
    vocabulary: Vocabulary,
    missing_channel_share: float,
) -> EventBatch:
    """Events of one kind over all pieces; values are left NaN for the caller to fill."""
    rate = np.asarray(kind.rates)[pieces.state] * entity_multiplier[pieces.entity]
    piece, second = draw_piece_events(rng, pieces, rate=rate, cumulative_season=cumulative_season)
    state = pieces.state[piece].astype(np.int8)
    size = piece.size
    channel_weights = np.asarray(kind.channel_weights, dtype=float)[None, :]
    channel = vocabulary.codes(kind.channels)[
        draw_categories(rng, channel_weights, np.zeros(size, dtype=np.int64))
    ]
    channel = np.where(rng.random(size) < missing_channel_share, -1, channel).astype(np.int16)
    inbound = rng.random(size) < np.asarray(kind.inbound_share)[state]
    direction = np.where(inbound, vocabulary.code("inbound"), vocabulary.code("outbound")).astype(
        np.int16
    )
    outcome_weights = np.asarray(kind.outcome_weights, dtype=float)
    outcome = vocabulary.codes(kind.outcomes)[draw_categories(rng, outcome_weights, state)]
    return EventBatch(
        entity=pieces.entity[piece],
        state=state,
        second=second,
        type=np.full(size, vocabulary.code(kind.type), dtype=np.int16),
        value=np.full(size, np.nan),
        channel=channel,
        direction=direction,
        outcome=outcome,
    )


def add_exact_duplicates(
    rng: np.random.Generator, batch: EventBatch, *, share: float
) -> EventBatch:
    """Repeat a few events verbatim (CRM exports do) and sort by time, then entity."""
    repeated = np.flatnonzero(rng.random(len(batch)) < share)
    index = np.concatenate([np.arange(len(batch)), repeated])
    # One int64 key (time, then entity) sorts faster than a two-key lexsort.
    key = batch.second[index] * (int(batch.entity.max(initial=0)) + 1) + batch.entity[index]
    return batch.take(index[np.argsort(key, kind="stable")])


def draw_arrival_seconds(
    rng: np.random.Generator, history: HistoryCalendar, size: int, *, front_share: float = 0.0
) -> np.ndarray:
    """Creation times (seconds since the calendar start), weekday-heavy, strictly inside a day.

    ``front_share`` of the entities arrive in the first 30 days (a book that already existed).
    """
    weight = business_activity(history.days)
    cumulative = np.concatenate([[0.0], np.cumsum(weight)])
    front = rng.random(size) < front_share
    span = np.where(front, cumulative[min(30, history.n_days)], cumulative[-1])
    day = np.searchsorted(cumulative, rng.random(size) * span, side="right") - 1
    day = np.clip(day, 0, history.n_days - 1)
    return np.sort(day * SECONDS_PER_DAY + draw_times_of_day(rng, size))


@dataclass(frozen=True)
class Marker:
    """The interaction that moves an entity into ``into_state`` (logged on the day it happens)."""

    into_state: int
    share: float  # of transitions that leave this trace in the CRM
    type: str
    channel: str
    direction: str
    outcome: str


def draw_markers(
    rng: np.random.Generator,
    path: ChainPath,
    markers: tuple[Marker, ...],
    *,
    vocabulary: Vocabulary,
) -> EventBatch:
    """Events on the day a transition is decided (the day before the new state's first day).

    A state change is caused by an interaction (the reply that engages a lead, the quote that
    opens a negotiation), so it is logged before any cutoff at which the new state holds.
    """
    batches = []
    for marker in markers:
        entry = path.entry_day[:, marker.into_state]
        entity = np.flatnonzero((entry >= 1) & (rng.random(entry.size) < marker.share))
        day = entry[entity] - 1
        size = entity.size
        batches.append(
            EventBatch(
                entity=entity,
                state=np.full(size, marker.into_state - 1, dtype=np.int8),
                second=day * SECONDS_PER_DAY + draw_times_of_day(rng, size),
                type=np.full(size, vocabulary.code(marker.type), dtype=np.int16),
                value=np.full(size, np.nan),
                channel=np.full(size, vocabulary.code(marker.channel), dtype=np.int16),
                direction=np.full(size, vocabulary.code(marker.direction), dtype=np.int16),
                outcome=np.full(size, vocabulary.code(marker.outcome), dtype=np.int16),
            )
        )
    return EventBatch.concat(batches)
