"""Realised metrics and drift from ``monitoring_results`` as Prometheus gauges, read per scrape.

``salesradar monitor`` (training) writes one row per judged batch run and task into the scores
database; this collector reads, at scrape time, the latest row per task and window state (the
newest complete one, ``partial="false"``, and the newest still-open one, ``partial="true"``) and
exposes its figures. Nothing runs in the scoring path. The table is read by column name, as
training reads ``score_runs`` (dependency direction: serving never imports training); its
layout is documented in docs/monitoring.md. Until ``monitor`` has run there is no table and no
series.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Engine,
    RowMapping,
    column,
    func,
    inspect,
    select,
    table,
)

from features.contract.times import to_naive_utc

_results = table(
    "monitoring_results",
    column("run_id"),
    column("task"),
    column("model_version"),
    column("as_of", DateTime),
    column("partial", Boolean),
    column("monitored_at", DateTime),
    column("outcome", JSON),
    column("drift", JSON),
)

RUN_LABELS = ("task", "model_version", "run_id", "partial")
# outcome.metrics key -> gauge name (docs/monitoring.md, "Gauges")
REALISED_METRICS = {
    "roc_auc": "salesradar_realised_roc_auc",
    "pr_auc": "salesradar_realised_pr_auc",
    "ece": "salesradar_realised_ece",
    "precision_at_k": "salesradar_realised_precision_at_capacity",
}


class MonitoringGauges(Collector):
    """A custom collector over the scores database's ``monitoring_results``.

    ``engine``: the scores database. ``salesradar_monitoring_age_seconds`` is measured as of the
    time the last ``as_of`` call set (the scrape's own now, set by ``ServiceMetrics.refresh``;
    no series before it). Each ``collect`` runs one query.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._now: datetime | None = None

    def as_of(self, now: datetime) -> None:
        """Measure ages as of ``now`` (naive or aware UTC) from the next ``collect`` on."""
        self._now = to_naive_utc(now)

    def describe(self) -> list[GaugeMetricFamily]:
        """No description up front: the registry must not query the database on register."""
        return []

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """The gauges of the latest result per task and window state (none before ``monitor``)."""
        rows = latest_results(self._engine)
        families = _families()
        for row in rows:
            labels = [
                str(row["task"]),
                str(row["model_version"]),
                str(row["run_id"]),
                "true" if row["partial"] else "false",
            ]
            outcome, drift = _as_dict(row["outcome"]), _as_dict(row["drift"])
            for key, name in REALISED_METRICS.items():
                families[name].add_metric(labels, _number(outcome["metrics"].get(key)))
            for tier in outcome["tiers"]:
                families["salesradar_realised_rate"].add_metric(
                    [*labels, str(tier["tier"])], _number(tier["realised_rate"])
                )
                families["salesradar_expected_rate"].add_metric(
                    [*labels, str(tier["tier"])], _number(tier["expected_rate"])
                )
            for feature in drift["features"]:
                families["salesradar_drift_psi"].add_metric(
                    [*labels, str(feature["name"])], _number(feature["psi"])
                )
            families["salesradar_score_psi"].add_metric(labels, _number(drift["score"]["psi"]))
            families["salesradar_unknown_event_share"].add_metric(
                labels, _number(drift["events"]["share"])
            )
            families["salesradar_drifted_features"].add_metric(labels, len(drift["drifted"]))
            if self._now is not None:
                age = self._now - to_naive_utc(row["monitored_at"])
                families["salesradar_monitoring_age_seconds"].add_metric(
                    labels, age.total_seconds()
                )
        yield from families.values()


def latest_results(engine: Engine) -> list[RowMapping]:
    """The newest row (by batch as-of, then monitor wall clock) per task and ``partial``."""
    if not inspect(engine).has_table("monitoring_results"):
        return []
    newest = (
        select(_results.c.task, _results.c.partial, func.max(_results.c.as_of).label("as_of"))
        .group_by(_results.c.task, _results.c.partial)
        .subquery()
    )
    query = (
        select(_results)
        .join(
            newest,
            (newest.c.task == _results.c.task)
            & (newest.c.partial == _results.c.partial)
            & (newest.c.as_of == _results.c.as_of),
        )
        .order_by(_results.c.task, _results.c.partial, _results.c.monitored_at.desc())
    )
    with engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
    seen: set[tuple[str, bool]] = set()
    latest = []
    for row in rows:  # two runs of one as-of: the one monitored last
        key = (row["task"], bool(row["partial"]))
        if key not in seen:
            seen.add(key)
            latest.append(row)
    return latest


def _families() -> dict[str, GaugeMetricFamily]:
    def gauge(name: str, text: str, *extra: str) -> GaugeMetricFamily:
        return GaugeMetricFamily(name, text, labels=[*RUN_LABELS, *extra])

    return {
        **{
            name: gauge(name, f"Realised {key} of the latest monitored batch run (0-1)")
            for key, name in REALISED_METRICS.items()
        },
        "salesradar_realised_rate": gauge(
            "salesradar_realised_rate", "Share of a tier's entities whose outcome came true", "tier"
        ),
        "salesradar_expected_rate": gauge(
            "salesradar_expected_rate", "Mean probability the run gave a tier's entities", "tier"
        ),
        "salesradar_drift_psi": gauge(
            "salesradar_drift_psi", "Population stability index of a feature vs training", "feature"
        ),
        "salesradar_score_psi": gauge(
            "salesradar_score_psi", "Population stability index of the scores vs training"
        ),
        "salesradar_unknown_event_share": gauge(
            "salesradar_unknown_event_share", "Share of recent events of a type the model lacks"
        ),
        "salesradar_drifted_features": gauge(
            "salesradar_drifted_features", "Features (and the score) past a drift alert"
        ),
        "salesradar_monitoring_age_seconds": gauge(
            "salesradar_monitoring_age_seconds", "Seconds since monitor judged the run"
        ),
    }


def _as_dict(value: Any) -> dict[str, Any]:
    # JSON columns come back parsed from SQLAlchemy's JSON type; text if a driver returns it raw.
    return json.loads(value) if isinstance(value, str) else dict(value)


def _number(value: Any) -> float:
    """A stored figure as a float; null (an undefined metric, stored as JSON null) is NaN."""
    return math.nan if value is None else float(value)
