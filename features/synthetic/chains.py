"""Per-entity latent state as a discrete-day absorbing Markov chain, and its exact forecasts.

States ``0 .. K-1`` form a line (a lead's funnel stage, a customer's engagement level). On each
day an entity in state ``x`` leaves through exit ``j`` (converted, lost, cancelled) with
probability ``exits[x, j] * exit_season[j, day]``, otherwise moves to ``x + 1`` with probability
``advance[x]``, otherwise stays. Draws use one uniform number per entity and day, so the
simulation and the backward recursions in ``features.synthetic.truth`` describe exactly the same
process: the ground truth is exact, not estimated.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

# Called with the number of simulated days done so far (progress bars).
DayHook = Callable[[int], None]


@dataclass(frozen=True)
class ChainModel:
    """Daily transition probabilities of every entity (rows) in every state (columns)."""

    advance: np.ndarray  # (n, K): probability of moving x -> x + 1 on a day
    exits: np.ndarray  # (n, K, J): base probability of leaving through exit j on a day
    exit_season: np.ndarray  # (J, n_days): multiplier of exit j's probability on each day

    def __post_init__(self) -> None:
        peak = self.exits * self.exit_season.max(axis=1)
        if np.any(peak.sum(axis=2) + self.advance > 1.0) or np.any(self.advance[:, -1] != 0):
            raise ValueError("chain probabilities must leave room to stay and end in a last state")

    @property
    def n_states(self) -> int:
        return int(self.advance.shape[1])


@dataclass(frozen=True)
class ChainPath:
    """One realized path per entity."""

    entry_day: np.ndarray  # (n, K) int64: first day in each state, -1 if never entered
    exit_day: np.ndarray  # (n,) int64: day of the exit, -1 if still in a state at the end
    exit_kind: np.ndarray  # (n,) int64: which exit, -1 if none

    def state_on(self, day: int) -> np.ndarray:
        """State at 00:00 of ``day`` (-1: not started yet or already exited before ``day``)."""
        entered = (self.entry_day >= 0) & (self.entry_day <= day)
        state = np.where(
            entered.any(axis=1), entered.shape[1] - 1 - np.argmax(entered[:, ::-1], axis=1), -1
        )
        gone = (self.exit_day >= 0) & (self.exit_day < day)
        return np.where(gone, -1, state)

    def piece_ends(self, n_days: int) -> np.ndarray:
        """(n, K): the day each state's stay ends (exclusive); the exit day itself is excluded."""
        n, k = self.entry_day.shape
        fallback = np.where(self.exit_day >= 0, self.exit_day, n_days)
        ends = np.empty((n, k), dtype=np.int64)
        ends[:, -1] = fallback
        for x in range(k - 2, -1, -1):
            nxt = self.entry_day[:, x + 1]
            ends[:, x] = np.where(nxt >= 0, nxt, fallback)
        return np.minimum(ends, n_days)


def simulate_chain(
    model: ChainModel,
    *,
    first_day: np.ndarray,
    n_days: int,
    rng: np.random.Generator,
    on_day: DayHook | None = None,
) -> ChainPath:
    """Simulate every entity from state 0 on ``first_day`` until it exits or the grid ends.

    Vectorized over entities; the only loop is over days. Entities whose ``first_day`` is at
    or after ``n_days`` never start.
    """
    n, k = model.advance.shape
    n_exits = model.exits.shape[2]
    state = np.zeros(n, dtype=np.int64)
    entry = np.full((n, k), -1, dtype=np.int64)
    entry[:, 0] = np.where(first_day < n_days, first_day, -1)
    exit_day = np.full(n, -1, dtype=np.int64)
    exit_kind = np.full(n, -1, dtype=np.int64)
    order = np.argsort(first_day, kind="stable")
    bounds = np.searchsorted(first_day[order], np.arange(n_days + 1), side="left")
    active = np.empty(0, dtype=np.int64)
    for day in range(n_days):
        arriving = order[bounds[day] : bounds[day + 1]]
        if arriving.size:
            active = np.concatenate([active, arriving])
        if on_day is not None and day % 30 == 0:
            on_day(day)
        if not active.size:
            continue
        x = state[active]
        cumulative = np.cumsum(model.exits[active, x, :] * model.exit_season[:, day], axis=1)
        u = rng.random(active.size)
        kind = (u[:, None] >= cumulative).sum(axis=1)
        leaving = kind < n_exits
        moving = ~leaving & (u < cumulative[:, -1] + model.advance[active, x])
        gone = active[leaving]
        exit_day[gone] = day
        exit_kind[gone] = kind[leaving]
        movers = active[moving]
        state[movers] += 1
        if day + 1 < n_days:
            entry[movers, state[movers]] = day + 1
        active = active[~leaving]
    if on_day is not None:
        on_day(n_days)
    return ChainPath(entry_day=entry, exit_day=exit_day, exit_kind=exit_kind)
