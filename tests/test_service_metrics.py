"""The service seen from outside: /metrics moves with the requests, and every log line of a request is
JSON carrying its request id."""

import json

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from ml.recommenders import ALSRecommender, PopularityRecommender
from ml.serving.publish import provenance, publish
from service.app import build_app
from service.registry import Registry
from tests.conftest import tiny_data

ROUTE = "/users/{user_id}/recommendations"


def scrape(client: TestClient) -> dict[tuple, float]:
    answer = client.get("/metrics")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def value(samples: dict, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_count_requests_fallbacks_retrievals_and_served_versions(tmp_path, capfd):
    data, models = tiny_data(), tmp_path / "models"
    window = {
        "split_strategy": "last_days",
        "trained_on_events_from": "2024-01-01",
        "test_from": "2024-02-01",
        "events_until": "2024-02-08",
    }
    publish(models, "als", "v1", ALSRecommender(factors=4, iterations=3).fit(data.train), data, provenance("duckdb", window))
    publish(models, "popularity", "v1", PopularityRecommender().fit(data.train), data)
    registry = Registry(models, tmp_path / "none.duckdb")
    registry.reload(force=True)
    client = TestClient(build_app(registry))
    before = scrape(client)

    for user in (1, 2, 999_999):  # two known users, one unknown: the fallback serves it
        assert client.get(f"/users/{user}/recommendations", params={"model": "als"}).status_code == 200
    assert client.get("/users/1/recommendations", params={"model": "nope"}).status_code == 404
    assert client.get("/no/such/path").status_code == 404
    after = scrape(client)

    def moved(name: str, **labels) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    ok = {"route": ROUTE, "method": "GET", "model": "als", "status": "200"}
    assert moved("recsys_requests_total", **ok) == 3
    assert moved("recsys_requests_total", **{**ok, "model": "nope", "status": "404"}) == 1
    assert moved("recsys_requests_total", route="unmatched", method="GET", model="none", status="404") == 1
    assert moved("recsys_request_duration_seconds_count", route=ROUTE, method="GET", model="als") == 3
    assert moved("recsys_request_duration_seconds_sum", route=ROUTE, method="GET", model="als") > 0
    assert moved("recsys_fallbacks_total", model="als", reason="popularity:unknown_user") == 1
    assert moved("recsys_retrievals_total", model="als", retrieval="exact") == 2
    assert value(after, "recsys_model_loaded", model="als", version="v1", retrieval="exact") == 1
    assert value(after, "recsys_model_loaded", model="popularity", version="v1", retrieval="exact") == 1
    assert value(after, "recsys_model_data_age_seconds", model="als") > 0  # since 2024-02-08
    assert 0 <= value(after, "recsys_model_trained_age_seconds", model="als") < 3600
    assert ("recsys_model_data_age_seconds", (("model", "popularity"),)) not in after  # no data window: no age

    capfd.readouterr()
    answer = client.get("/users/1/recommendations", params={"model": "als"}, headers={"X-Request-ID": "abc-123"})
    assert answer.headers["x-request-id"] == "abc-123"
    fresh = client.get("/health").headers["x-request-id"]
    bad = client.get("/health", headers={"X-Request-ID": "has spaces; and ;"}).headers["x-request-id"]
    assert len(fresh) == 32 and len(bad) == 32 and fresh != bad  # a new id when none, or an unusable one, is given
    lines = [json.loads(line) for line in capfd.readouterr().err.splitlines() if line.startswith("{")]
    access = [line for line in lines if line["event"] == "request"]
    assert [line["request_id"] for line in access] == ["abc-123", fresh, bad]
    assert access[0] | {"ms": 0, "timestamp": ""} == {
        "event": "request", "level": "info", "logger": "recsys.service", "request_id": "abc-123", "method": "GET",
        "path": "/users/1/recommendations", "route": ROUTE, "model": "als", "status": 200, "ms": 0, "timestamp": "",
    }  # fmt: skip


def test_requests_are_spans_when_opentelemetry_is_on(tmp_path, monkeypatch):
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    if not isinstance(trace.get_tracer_provider(), TracerProvider):  # set once per process
        trace.set_tracer_provider(TracerProvider())
    spans = InMemorySpanExporter()
    trace.get_tracer_provider().add_span_processor(SimpleSpanProcessor(spans))  # type: ignore[attr-defined]
    data, models = tiny_data(), tmp_path / "models"
    publish(models, "popularity", "v1", PopularityRecommender().fit(data.train), data)
    registry = Registry(models, tmp_path / "none.duckdb")
    registry.reload(force=True)
    client = TestClient(build_app(registry))
    client.get("/users/3/recommendations", params={"model": "popularity"}, headers={"X-Request-ID": "r1"})
    ours = lambda: [s for s in spans.get_finished_spans() if s.instrumentation_scope.name == "recsys.service"]  # noqa: E731
    assert ours() == []  # off unless RECSYS_OTEL=1 (FastAPI's own spans go to a provider the host configured)
    monkeypatch.setenv("RECSYS_OTEL", "1")
    client = TestClient(build_app(registry))
    client.get("/users/3/recommendations", params={"model": "popularity"}, headers={"X-Request-ID": "r2"})
    (span,) = ours()
    assert {s.parent.span_id for s in spans.get_finished_spans() if s.parent} >= {span.context.span_id}  # FastAPI's inside
    assert span.name == f"GET {ROUTE}"
    assert dict(span.attributes) == {
        "http.request.method": "GET", "http.route": ROUTE, "url.path": "/users/3/recommendations",
        "http.response.status_code": 200, "recsys.model": "popularity", "recsys.request_id": "r2",
    }  # fmt: skip


def test_a_repeated_query_parameter_is_refused_not_reduced_to_one_value(tmp_path):
    data, models = tiny_data(), tmp_path / "models"
    publish(models, "popularity", "v1", PopularityRecommender().fit(data.train), data)
    registry = Registry(models, tmp_path / "none.duckdb")
    registry.reload(force=True)
    client = TestClient(build_app(registry))
    answer = client.get("/search?q=t&user_id=1&user_id=2&k=3&k=4&model=popularity")
    assert answer.status_code == 422
    assert sorted(answer.json()["detail"], key=str) == [
        {"loc": ["query", "k"], "msg": "given 2 times: give it once", "type": "repeated"},
        {"loc": ["query", "user_id"], "msg": "given 2 times: give it once", "type": "repeated"},
    ]
    assert client.get("/search?q=t&user_id=1&k=3&model=popularity").status_code == 200
    assert client.get("/metrics?unknown=1&unknown=2").status_code == 200  # undeclared parameters are ignored
