"""Prometheus metrics, one registry per app (tests build many apps in one process)."""

from __future__ import annotations

from typing import Callable

from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

# The *_created series double the output and no dashboard here uses them.
disable_created_metrics()

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class _CallbackGauge(Collector):
    """A gauge read at scrape time (queue depth lives in the database, not in memory)."""

    def __init__(self, name: str, doc: str, labels: list[str], read: Callable[[], dict[tuple[str, ...], float]]) -> None:
        self.name, self.doc, self.labels, self.read = name, doc, labels, read

    def collect(self):  # type: ignore[no-untyped-def]
        family = GaugeMetricFamily(self.name, self.doc, labels=self.labels)
        for labels, value in self.read().items():
            family.add_metric(list(labels), value)
        yield family


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("draftgate_http_requests", "HTTP requests", ["method", "route", "status"], registry=r)
        self.latency = Histogram(
            "draftgate_http_request_duration_seconds", "HTTP request latency", ["route"], registry=r,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.drafts = Counter("draftgate_drafts_screened", "Revisions screened, by resulting status", ["status"], registry=r)
        self.checker_duration = Histogram(
            "draftgate_checker_duration_seconds", "Time each checker took on one revision", ["checker"], registry=r,
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.checker_failures = Counter(
            "draftgate_checker_failures", "Checker runs that raised or timed out", ["checker", "reason"], registry=r
        )
        self.publish_attempts = Counter(
            "draftgate_publish_attempts", "Publish attempts by target and result", ["target", "result"], registry=r
        )

    def add_queue_gauge(self, read: Callable[[], dict[tuple[str, ...], float]]) -> None:
        self.registry.register(
            _CallbackGauge("draftgate_publish_queue_depth", "Publications by state", ["state"], read)
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
