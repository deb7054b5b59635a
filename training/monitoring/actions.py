"""Reps' recorded actions, read from the scores database for outcome monitoring.

The table ``rep_actions`` is serving's (``serving.store.actions``; one row per action, never
updated); it is read here through the columns this module needs, by name, because training never
imports serving (dependency direction: training -> features <- serving). A database where no rep
ever recorded an action has no such table: that reads as "no actions known", not as an error.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd
from sqlalchemy import DateTime, Engine, column, inspect, select, table

from training.monitoring.store import ENTITY_TASKS

ACTIONS_TABLE = "rep_actions"

_actions = table(
    ACTIONS_TABLE,
    column("entity_kind"),
    column("entity_id"),
    column("action"),
    column("recorded_at", DateTime),
)


def has_actions_table(engine: Engine) -> bool:
    """Whether the scores database holds serving's ``rep_actions`` table."""
    return inspect(engine).has_table(ACTIONS_TABLE)


def recorded_actions(engine: Engine, *, task: str, start: datetime, end: datetime) -> pd.DataFrame:
    """``entity_id, action`` of every action on the ``task``'s entities (leads or churn)
    recorded in [start, end) (naive UTC, serving's ``recorded_at``), one row per action.

    The caller checks ``has_actions_table`` first; ``start``/``end`` are the run's as-of and the
    end of its observed outcome window, so only what reps did after seeing the run counts.
    """
    kind = next(k for k, t in ENTITY_TASKS.items() if t == task)
    query = (
        select(_actions.c.entity_id, _actions.c.action)
        .where(
            _actions.c.entity_kind == kind,
            _actions.c.recorded_at >= start,
            _actions.c.recorded_at < end,
        )
        .order_by(_actions.c.entity_id, _actions.c.action)
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return pd.DataFrame(rows, columns=["entity_id", "action"])
