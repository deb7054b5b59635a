"""The reference scorers of ``make bench-public``, computed straight from a converted export.

Written apart from salesradar's own feature code on purpose, from the label definitions in
docs/features.md, so that a fault in salesradar cannot hide in both sides of the comparison:

- **spine and labels** per (entity, cutoff). Leads: created at or before the cutoff, not converted
  or lost before it; label 1 if ``converted_at`` is in [cutoff, cutoff + horizon). Churn: created at
  or before the cutoff, not churned by then, with at least one activity event before it; label 1
  if ``churned_at`` is in the window or no activity event falls in it.
- **flat features**: per event type of the dataset's vocabulary (types seen before the test
  cutoff), the count in the last 7, 30 and 90 days and in all history; the same for all events;
  days since the last event; days since the entity was created. Events strictly before the cutoff.
- **naive baselines**: days since the last event (leads: fewer = hotter; churn: days since the last
  activity event, more = riskier) and the event count in the last 30 days (leads: more = hotter;
  churn: activity events, fewer = riskier).
- **logistic regression** on log1p of the flat counts, recency and tenure, standardised, fitted on
  the learning cutoffs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from training.metrics import top_decile_lift

WINDOWS_DAYS = (7, 30, 90)
ENTITY = {
    "leads": ("leads", "lead_events", "lead_id"),
    "churn": ("customers", "customer_events", "customer_id"),
}


@dataclass(frozen=True)
class Split:
    """Cutoffs shared by every scorer: ``learn`` (label windows closed by ``test``) and ``test``."""

    learn: tuple[datetime, ...]
    test: datetime

    @property
    def all(self) -> tuple[datetime, ...]:
        return (*self.learn, self.test)


def temporal_split(cutoffs: Sequence[datetime], *, horizon: timedelta, as_of: datetime) -> Split:
    """The last labelled cutoff is the test; earlier ones whose window closes by it may learn.

    A cutoff is labelled when ``cutoff + horizon <= as_of``. Raises ``ValueError`` when fewer
    than two labelled cutoffs remain or none is left to learn from.
    """
    labelled = sorted(c for c in cutoffs if c + horizon <= as_of)
    if len(labelled) < 2:
        raise ValueError(f"need two labelled cutoffs, found {len(labelled)}")
    test = labelled[-1]
    learn = tuple(c for c in labelled[:-1] if c + horizon <= test)
    if not learn:
        raise ValueError(f"no cutoff's label window closes by the test cutoff {test:%Y-%m-%d}")
    return Split(learn=learn, test=test)


def connect(export: Path) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with typed views of the export's CSV tables (UTC, text kept)."""
    con = duckdb.connect()
    con.execute("SET TimeZone='UTC'")
    con.execute("SET enable_progress_bar = false")
    times = {
        "leads": ("created_at", "converted_at", "closed_lost_at"),
        "customers": ("created_at", "churned_at"),
        "lead_events": ("occurred_at",),
        "customer_events": ("occurred_at",),
    }
    for table, columns in times.items():
        path = export / f"{table}.csv"
        if not path.exists():
            continue
        source = f"read_csv('{path}', all_varchar=true, header=true)"
        present = set(con.execute(f"SELECT * FROM {source} LIMIT 0").df().columns)
        typed = ", ".join(
            f"CAST(CAST(NULLIF({c}, '') AS TIMESTAMPTZ) AS TIMESTAMP) AS {c}"
            for c in columns
            if c in present
        )
        con.execute(f"CREATE VIEW {table} AS SELECT * REPLACE ({typed}) FROM {source}")
    return con


def spine(
    con: duckdb.DuckDBPyConnection,
    *,
    task: str,
    cutoffs: Sequence[datetime],
    horizon: timedelta,
    activity_types: Sequence[str] | None,
) -> pd.DataFrame:
    """Eligible (entity_id, cutoff, label) rows; ``activity_types`` None = every event type."""
    values = ", ".join(f"(TIMESTAMP '{c:%Y-%m-%d %H:%M:%S}')" for c in cutoffs)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE cutoffs AS SELECT col0 AS cutoff, "
        f"col0 + INTERVAL {horizon.days} DAY AS horizon_end FROM (VALUES {values})"
    )
    if task == "leads":
        sql = """SELECT l.lead_id AS entity_id, c.cutoff, l.created_at,
                 CAST(l.converted_at >= c.cutoff AND l.converted_at < c.horizon_end AS INT) AS label
            FROM leads l JOIN cutoffs c ON l.created_at <= c.cutoff
            WHERE (l.converted_at IS NULL OR l.converted_at >= c.cutoff)
              AND (l.closed_lost_at IS NULL OR l.closed_lost_at >= c.cutoff)"""
        if "closed_lost_at" not in con.execute("SELECT * FROM leads LIMIT 0").df().columns:
            sql = sql.replace("AND (l.closed_lost_at IS NULL OR l.closed_lost_at >= c.cutoff)", "")
        frame = con.execute(sql).df()
        frame["label"] = frame["label"].fillna(0)
    else:
        activity = _type_filter("type", activity_types)
        frame = con.execute(f"""
            WITH pairs AS (SELECT cu.customer_id AS entity_id, c.cutoff, c.horizon_end,
                                  cu.created_at, cu.churned_at
                FROM customers cu JOIN cutoffs c ON cu.created_at <= c.cutoff
                WHERE cu.churned_at IS NULL OR cu.churned_at >= c.cutoff),
            counts AS (SELECT p.entity_id, p.cutoff,
                    count(*) FILTER (WHERE e.occurred_at < p.cutoff) AS before,
                    count(*) FILTER (WHERE e.occurred_at >= p.cutoff
                                     AND e.occurred_at < p.horizon_end) AS after
                FROM pairs p JOIN customer_events e ON e.customer_id = p.entity_id
                 AND e.occurred_at < p.horizon_end AND {activity}
                GROUP BY ALL)
            SELECT p.entity_id, p.cutoff, p.created_at,
                   CAST((p.churned_at >= p.cutoff AND p.churned_at < p.horizon_end)
                        OR x.after = 0 AS INT) AS label
            FROM pairs p JOIN counts x USING (entity_id, cutoff) WHERE x.before > 0""").df()
        frame["label"] = frame["label"].fillna(0)
    frame["label"] = frame["label"].astype(int)
    return frame.sort_values(["cutoff", "entity_id"], kind="stable").reset_index(drop=True)


def vocabulary(con: duckdb.DuckDBPyConnection, *, task: str, before: datetime) -> list[str]:
    """Event types that occur before ``before`` (the test cutoff), most frequent first."""
    _, events, _ = ENTITY[task]
    rows = con.execute(
        f"SELECT type, count(*) n FROM {events} WHERE occurred_at < ? GROUP BY 1 "
        "ORDER BY n DESC, type",
        [before],
    ).fetchall()
    return [r[0] for r in rows]


def flat_features(
    con: duckdb.DuckDBPyConnection,
    rows: pd.DataFrame,
    *,
    task: str,
    types: Sequence[str],
    activity_types: Sequence[str] | None,
) -> pd.DataFrame:
    """One row per ``rows`` row (same order): counts per type and window, recency, tenure."""
    _, events, key = ENTITY[task]
    con.register("spine_rows", rows[["entity_id", "cutoff"]])
    parts = []
    for i, name in enumerate(["*", *types]):
        match = "TRUE" if name == "*" else _type_filter("e.type", [name])
        for days in (*WINDOWS_DAYS, None):
            since = "TRUE" if days is None else f"e.occurred_at >= s.cutoff - INTERVAL {days} DAY"
            label = f"n{days or 'all'}_{i}"
            parts.append(f'count(e.type) FILTER (WHERE {match} AND {since}) AS "{label}"')
    activity = _type_filter("e.type", activity_types)
    frame = con.execute(f"""
        SELECT s.entity_id, s.cutoff, {", ".join(parts)},
               date_diff('second', max(e.occurred_at), s.cutoff) / 86400.0 AS days_since_last,
               date_diff('second', max(e.occurred_at) FILTER (WHERE {activity}), s.cutoff)
                   / 86400.0 AS days_since_last_activity,
               count(e.type) FILTER (WHERE {activity}
                   AND e.occurred_at >= s.cutoff - INTERVAL 30 DAY) AS activity_30d
        FROM spine_rows s LEFT JOIN {events} e
          ON e.{key} = s.entity_id AND e.occurred_at < s.cutoff
        GROUP BY s.entity_id, s.cutoff""").df()
    con.unregister("spine_rows")
    merged = rows[["entity_id", "cutoff", "created_at"]].merge(
        frame, on=["entity_id", "cutoff"], how="left", validate="one_to_one"
    )
    tenure = (merged["cutoff"] - merged["created_at"]).dt.total_seconds() / 86400.0
    merged["tenure_days"] = tenure
    for column in ("days_since_last", "days_since_last_activity"):
        merged[column] = merged[column].fillna(tenure)
    return merged.drop(columns=["created_at"])


def naive_scores(features: pd.DataFrame, *, task: str) -> dict[str, np.ndarray]:
    """Naive baselines as scores where higher = more likely positive."""
    if task == "leads":
        return {
            "days since last event": -features["days_since_last"].to_numpy(float),
            "events in 30 days": features["n30_0"].to_numpy(float),
        }
    return {
        "days since last activity": features["days_since_last_activity"].to_numpy(float),
        "activity in 30 days": -features["activity_30d"].to_numpy(float),
    }


def logistic_scores(
    learn: pd.DataFrame, learn_labels: np.ndarray, test: pd.DataFrame, *, seed: int
) -> np.ndarray:
    """Fit the flat logistic regression on ``learn`` and return P(label=1) on ``test``."""
    columns = [c for c in learn.columns if c.startswith("n")] + [
        "days_since_last",
        "days_since_last_activity",
        "tenure_days",
    ]

    def matrix(frame: pd.DataFrame) -> np.ndarray:
        return np.log1p(frame[columns].clip(lower=0).fillna(0).to_numpy(float))

    model = make_pipeline(
        StandardScaler(), LogisticRegression(C=1.0, max_iter=2000, random_state=seed)
    )
    model.fit(matrix(learn), learn_labels)
    return model.predict_proba(matrix(test))[:, 1]


def ranking_metrics(labels: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    """ROC AUC, PR AUC and top-decile lift (salesradar's definition, ties in row order)."""
    both = 0 < labels.sum() < len(labels)
    return {
        "roc_auc": float(roc_auc_score(labels, scores)) if both else float("nan"),
        "pr_auc": float(average_precision_score(labels, scores)) if both else float("nan"),
        "lift": top_decile_lift(labels, scores),
    }


def _type_filter(column: str, types: Sequence[str] | None) -> str:
    """SQL condition ``column IN (...)``; None means every type."""
    if types is None:
        return "TRUE"
    return f"{column} IN (" + ", ".join("'" + t.replace("'", "''") + "'" for t in types) + ")"
