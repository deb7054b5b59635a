"""Prometheus metrics with a registry per app instance (never the process-global one).

Names follow Prometheus' conventions (``salesradar_http_request_duration_seconds``, base units,
``_total`` counters). Each registry also carries the standard process, platform (Python) and
garbage-collector collectors, and no ``_created`` series: they double every counter's series
and no dashboard of ours reads them (``disable_created_metrics`` is process-wide, which is what
we want in a server process).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Enum,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)
from sqlalchemy import select

from features.contract.times import to_naive_utc
from serving.api.monitoring_gauges import MonitoringGauges
from serving.champions.lifecycle import ModelManager
from serving.store.database import ScoreStore
from serving.store.tables import published_run, score_runs

REGISTRY_STATES = ["ok", "degraded", "unknown"]
# 0-100 scores in tenths: enough to see a drifting distribution without many series.
SCORE_BUCKETS = tuple(float(b) for b in range(10, 101, 10))


class ServiceMetrics:
    """Requests, latencies, scores served, the models and the published run of one app."""

    def __init__(self) -> None:
        # prometheus_client leaves this function unannotated (no ``-> None``).
        disable_created_metrics()  # type: ignore[no-untyped-call]
        self._served: dict[str, tuple[str, str, str, str]] = {}
        self._monitoring: MonitoringGauges | None = None
        self.registry = registry = CollectorRegistry(auto_describe=True)
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
        GCCollector(registry=registry)
        self.requests = Counter(
            "salesradar_http_requests",
            "HTTP requests answered, by route template and status",
            ["method", "route", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "salesradar_http_request_duration_seconds",
            "Time from receiving a request to the end of its response",
            ["method", "route"],
            buckets=(0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
            registry=registry,
        )
        self.entity_errors = Counter(
            "salesradar_scoring_entity_errors",
            "Entities refused inside scoring requests (the rest of the batch is scored)",
            ["task"],
            registry=registry,
        )
        self.tiers = Counter(
            "salesradar_scored_entities",
            "Entities scored online, by tier",
            ["task", "tier"],
            registry=registry,
        )
        self.scores = Histogram(
            "salesradar_served_score",
            "0-100 scores served online",
            ["task"],
            buckets=SCORE_BUCKETS,
            registry=registry,
        )
        self.model_info = Gauge(
            "salesradar_model_info",
            "1 for the model version being served",
            ["task", "name", "version", "source"],
            registry=registry,
        )
        self.registry_state = Enum(
            "salesradar_model_registry_state",
            "State of the model registry at the last check",
            states=REGISTRY_STATES,
            registry=registry,
        )
        self.run_age = Gauge(
            "salesradar_published_run_age_seconds",
            "Seconds since the published batch scoring run was published (absent: none)",
            registry=registry,
        )

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one answered request and its duration, by route template (never raw path)."""
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)

    def observe_scores(self, task: str, scored: Iterable[tuple[str, int]]) -> None:
        """Count ``(tier, score)`` pairs served for ``task`` (score 0-100)."""
        for tier, score in scored:
            self.tiers.labels(task=task, tier=tier).inc()
            self.scores.labels(task=task).observe(score)

    def set_model(self, task: str, name: str, version: str, source: str) -> None:
        """Exactly one series per task reads 1: the version being served now."""
        labels = (task, name, version, source)
        previous = self._served.get(task)
        if previous == labels:
            return
        if previous is not None:
            self.model_info.remove(*previous)
        self.model_info.labels(*labels).set(1)
        self._served[task] = labels

    def refresh(self, models: ModelManager, store: ScoreStore, *, now: datetime) -> None:
        """Bring the gauges read from the models and the store up to date as of ``now``.

        Done per scrape, so that swaps by the poller and runs published by another process
        show up without a hook into either. The first call registers the collector of
        ``monitoring_results`` (``serving.api.monitoring_gauges``) on ``store``'s database: it reads
        the table at each scrape, never while scoring."""
        if self._monitoring is None:
            self._monitoring = MonitoringGauges(store.engine)
            self.registry.register(self._monitoring)
        self._monitoring.as_of(now)
        for task in models.tasks:
            if (m := models.current(task)) is not None:
                self.set_model(task.value, m.name, m.version, m.source)
        self.registry_state.state(models.registry_state)
        published = published_at(store)
        if published is None:
            self.run_age.set(float("nan"))
        else:
            self.run_age.set((to_naive_utc(now) - to_naive_utc(published)).total_seconds())

    def exposition(self, models: ModelManager, store: ScoreStore, *, now: datetime) -> bytes:
        """The registry in Prometheus text format, refreshed as of ``now``."""
        self.refresh(models, store, now=now)
        return generate_latest(self.registry)


def published_at(store: ScoreStore) -> datetime | None:
    """When the run being read was published (naive UTC), or None when none is."""
    query = (
        select(score_runs.c.published_at)
        .join(published_run, published_run.c.run_id == score_runs.c.run_id)
        .where(published_run.c.slot == 1)
    )
    with store.engine.connect() as conn:
        value: datetime | None = conn.execute(query).scalar_one_or_none()
    return value
