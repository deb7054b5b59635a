"""Prometheus metrics with a registry per app instance (never the process-global one)."""

from __future__ import annotations

import time
from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from serving.limits import ASGIApp, Message, Receive, Scope, Send


class ServiceMetrics:
    """Requests, latencies, errors, scores by tier and the model versions being served."""

    def __init__(self) -> None:
        self._served: dict[str, tuple[str, str, str, str]] = {}
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "salesradar_requests",
            "HTTP requests",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "salesradar_request_seconds",
            "Request latency",
            ["method", "route"],
            buckets=(0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
            registry=self.registry,
        )
        self.errors = Counter(
            "salesradar_errors",
            "Responses with status >= 400",
            ["route", "status"],
            registry=self.registry,
        )
        self.entity_errors = Counter(
            "salesradar_entity_errors",
            "Entities refused inside scoring requests",
            ["task"],
            registry=self.registry,
        )
        self.scores = Counter(
            "salesradar_scores",
            "Entities scored online",
            ["task", "tier"],
            registry=self.registry,
        )
        self.model_info = Gauge(
            "salesradar_model_info",
            "1 for the model version being served",
            ["task", "name", "version", "source"],
            registry=self.registry,
        )

    def count_tiers(self, task: str, tiers: Iterable[str]) -> None:
        for tier in tiers:
            self.scores.labels(task=task, tier=tier).inc()

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


class MetricsMiddleware:
    """Pure ASGI: times every HTTP request and labels it by its route template, not raw path."""

    def __init__(self, app: ASGIApp, *, metrics: ServiceMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            # Unmatched paths share one label so that scanners cannot blow up cardinality.
            template = getattr(route, "path", None) or "<unmatched>"
            method = scope["method"]
            self.metrics.requests.labels(method, template, str(status)).inc()
            self.metrics.latency.labels(method, template).observe(time.perf_counter() - started)
            if status >= 400:
                self.metrics.errors.labels(template, str(status)).inc()
