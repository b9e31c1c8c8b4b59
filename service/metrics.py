"""The service seen from outside: Prometheus metrics at ``/metrics`` (prometheus_client).

- ``recsys_requests_total`` and ``recsys_request_duration_seconds`` by route (its template, e.g.
  ``/users/{user_id}/recommendations``), method, model (none for routes without one) and status;
- ``recsys_fallbacks_total`` by model and reason: users the fallback (popularity) served instead;
- ``recsys_retrievals_total`` by model and retrieval (``ann`` or ``exact``): how top-k lists were found;
- ``recsys_events_received_total`` by event type (``POST /events``), and ``recsys_fresh_lists_total`` by
  model: lists that events received since the model's data shaped (request-time freshness);
- ``recsys_model_loaded`` (1 per served model, its version and retrieval as labels), and the served
  versions' ``recsys_model_trained_age_seconds`` and ``recsys_model_data_age_seconds`` (since the last
  event the model's data holds), read from the registry at each scrape.

With several worker processes, set ``PROMETHEUS_MULTIPROC_DIR`` to an empty directory shared by the
workers (prometheus_client's multiprocess mode): each scrape then sums the workers' counters.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from ml.serving import freshness
from service.registry import Registry

REQUESTS = Counter("recsys_requests", "HTTP requests answered", ["route", "method", "model", "status"])
LATENCY = Histogram(
    "recsys_request_duration_seconds",
    "time from the request's arrival to its response's start",
    ["route", "method", "model"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0),
)
FALLBACKS = Counter("recsys_fallbacks", "users served by the fallback model instead of the one asked", ["model", "reason"])
RETRIEVALS = Counter("recsys_retrievals", "top-k lists by how they were retrieved", ["model", "retrieval"])
EVENTS = Counter("recsys_events_received", "request-time events written to the live log (POST /events)", ["event_type"])
FRESH = Counter("recsys_fresh_lists", "lists shaped by events received since the model's data (folded in)", ["model"])


class ServedModels(Collector):
    """The registry's current snapshot, as gauges, at each scrape."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    def collect(self) -> Iterator[GaugeMetricFamily]:
        loaded = GaugeMetricFamily("recsys_model_loaded", "served models (1 each)", labels=["model", "version", "retrieval"])
        trained = GaugeMetricFamily("recsys_model_trained_age_seconds", "since the served version was trained", labels=["model"])
        data = GaugeMetricFamily("recsys_model_data_age_seconds", "since the last event of its training data", labels=["model"])
        now = datetime.now(UTC)
        for m in self.registry.snapshot.models.values():
            loaded.add_metric([m.name, m.version, m.retrieval], 1)
            for family, when in (
                (trained, freshness.as_utc(m.provenance.get("trained_at"))),
                (data, freshness.data_until(m.provenance)),
            ):
                if when is not None:
                    family.add_metric([m.name], (now - when).total_seconds())
        yield from (loaded, trained, data)


def metrics_router(registry: Registry) -> APIRouter:
    router = APIRouter()
    scrape = CollectorRegistry()  # this app's: its served models, and the process's (or workers') counters
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(scrape)
    else:
        scrape.register(REGISTRY)
    scrape.register(ServedModels(registry))

    @router.get("/metrics", response_class=Response, responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}})
    def metrics() -> Response:
        """Prometheus metrics: requests and latency by route and model, fallbacks, ANN or exact retrieval,
        the served versions and the age of their training and data."""
        return Response(generate_latest(scrape), media_type=CONTENT_TYPE_LATEST)

    return router
