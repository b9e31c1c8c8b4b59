"""The FastAPI service, started for real with uvicorn on a free loopback port."""

import json
import os
import threading
import time

import httpx
import numpy as np
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from ml.recommenders import ALSRecommender, PopularityRecommender
from ml.serving.publish import provenance, publish
from ml.settings import warehouse_label
from ml.warehouse.marts import data_window, load_interactions
from tests.conftest import running_service


@pytest.fixture(scope="module")
def server(sample_warehouse, tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("serve") / "data"
    data = load_interactions(sample_warehouse)
    publish(data_dir / "models", "popularity", "v1", PopularityRecommender().fit(data.train), data)
    publish(data_dir / "models", "als", "v1", ALSRecommender(iterations=5).fit(data.train), data)
    env = {
        **os.environ,
        "RECSYS_DATA_DIR": str(data_dir),
        "RECSYS_DUCKDB_PATH": str(sample_warehouse),
        "RECSYS_RELOAD_INTERVAL_S": "0.3",
    }
    with running_service(env) as url:
        yield {"url": url, "data": data, "models_dir": data_dir / "models"}


def test_health_and_models(server):
    health = httpx.get(f"{server['url']}/health").json()
    assert health["status"] == "ok" and set(health["models"]) == {"popularity", "als"}
    models = {m["name"]: m for m in httpx.get(f"{server['url']}/models").json()}
    assert models["als"]["similar_items"] and not models["popularity"]["similar_items"]
    assert "path" not in models["als"] and str(server["models_dir"]) not in httpx.get(f"{server['url']}/models").text
    # the sample warehouse has evaluated nothing: no metrics, so nothing to pair with the served version
    assert models["als"]["metrics"] == {} and models["als"]["metrics_of_served_version"] is None


def test_batch_recommendations_exclude_seen_items(server):
    data = server["data"]
    warm = data.users.user_id[np.diff(data.train.indptr) > 0].head(5).tolist()
    r = httpx.post(f"{server['url']}/recommendations", json={"user_ids": warm, "top_n": 7, "model": "als"})
    assert r.status_code == 200
    body = r.json()
    assert body["model"] == "als" and len(body["results"]) == 5
    for res in body["results"]:
        idx = int(np.flatnonzero(data.users.user_id == res["user_id"])[0])
        seen = set(data.items.item_id[data.train[idx].indices])
        got = [i["item_id"] for i in res["items"]]
        assert len(got) == 7 and not seen & set(got) and res["fallback"] is None
        scores = [i["score"] for i in res["items"]]
        assert scores == sorted(scores, reverse=True)


def test_unknown_and_cold_users_get_the_marked_fallback(server):
    data = server["data"]
    cold = int(data.users.user_id[np.diff(data.train.indptr) == 0].iloc[0])
    r = httpx.get(f"{server['url']}/users/987654321/recommendations", params={"k": 5, "model": "als"}).json()
    assert r["fallback"] == "popularity:unknown_user" and len(r["items"]) == 5
    r = httpx.get(f"{server['url']}/users/{cold}/recommendations", params={"k": 5}).json()
    assert r["fallback"] == "popularity:no_history"
    assert (r["model"], r["model_version"]) == ("als", "v1")  # as the batch answer says which model answered


def test_similar_items_and_error_cases(server):
    url = server["url"]
    item = int(server["data"].items.item_id[0])
    r = httpx.get(f"{url}/items/{item}/similar", params={"k": 4, "model": "als"})
    assert r.status_code == 200
    sims = r.json()["items"]
    assert len(sims) == 4 and item not in [s["item_id"] for s in sims] and sims[0]["category"] and sims[0]["title"]
    assert httpx.get(f"{url}/items/99999999/similar").status_code == 404
    assert "not in the catalogue" in httpx.get(f"{url}/items/99999999/similar").json()["detail"]
    refused = httpx.get(f"{url}/items/{item}/similar", params={"model": "popularity"})
    assert refused.status_code == 400 and refused.json()["detail"].endswith("use one of ['als']")  # what is served
    assert httpx.get(f"{url}/users/1/recommendations", params={"model": "nope"}).status_code == 404
    for params in ({"k": 0}, {"k": 101}, {"k": "ten"}):
        assert httpx.get(f"{url}/users/1/recommendations", params=params).status_code == 422
    for body in ({"user_ids": []}, {"user_ids": list(range(1001))}, {"user_ids": ["a"]}, {"user_ids": [1], "top_n": 0}, {}):
        assert httpx.post(f"{url}/recommendations", json=body).status_code == 422
    assert httpx.get(f"{url}/users/abc/recommendations").status_code == 422
    for raw in ('{"user_ids": [1, NaN]}', '{"user_ids": [1], "top_n": Infinity}', "NaN"):  # non-standard JSON tokens
        r = httpx.post(f"{url}/recommendations", content=raw, headers={"content-type": "application/json"})
        assert r.status_code == 422 and "input" not in r.json()["detail"][0], r.text
    # ids are JSON integers, as documented: no strings, booleans or fractions; an id beyond the
    # warehouse's int64 is an unknown user
    for ids in (["7"], [True], [False], [1.5]):
        assert httpx.post(f"{url}/recommendations", json={"user_ids": ids}).status_code == 422, ids
    r = httpx.post(f"{url}/recommendations", json={"user_ids": [2**63 - 1, -(2**63), 2**70]})
    assert [u["fallback"] for u in r.json()["results"]] == ["popularity:unknown_user"] * 3


def test_search_finds_titles_and_personalises_for_a_known_user(server):
    url, data = server["url"], server["data"]
    r = httpx.get(f"{url}/search", params={"q": "olive oil", "k": 5})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["personalised_with"] is None and body["catalogue_version"] == "popularity/v1"
    assert len(body["items"]) == 5 and all("Olive Oil" in i["title"] for i in body["items"])
    relevant = {i["item_id"] for i in httpx.get(f"{url}/search", params={"q": "olive oil", "k": 100}).json()["items"]}
    warm = int(data.users.user_id[np.diff(data.train.indptr) > 0].iloc[0])
    mine = httpx.get(f"{url}/search", params={"q": "olive oil", "k": 5, "user_id": warm, "personal_weight": 1}).json()
    assert mine["personalised_with"] == "als" and {i["item_id"] for i in mine["items"]} <= relevant
    stranger = httpx.get(f"{url}/search", params={"q": "olive oil", "k": 5, "user_id": 987654321}).json()
    assert stranger["personalised_with"] is None and stranger["items"] == body["items"]
    assert httpx.get(f"{url}/search", params={"q": "olive", "user_id": warm, "model": "nope"}).status_code == 404
    assert httpx.get(f"{url}/search", params={"q": ""}).status_code == 422
    assert httpx.get(f"{url}/search", params={"q": "zzzzqqq"}).json()["items"] == []


def test_hot_reload_swaps_models_without_failing_requests(server):
    url, data = server["url"], server["data"]
    failures, stop = [], threading.Event()

    def hammer():
        with httpx.Client() as client:
            while not stop.is_set():
                r = client.get(f"{url}/users/{int(data.users.user_id[0])}/recommendations", params={"model": "als"})
                if r.status_code != 200:
                    failures.append(r.status_code)

    thread = threading.Thread(target=hammer)
    thread.start()
    try:
        publish(server["models_dir"], "als", "v2", ALSRecommender(iterations=3, seed=7).fit(data.train), data)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            versions = {m["name"]: m["version"] for m in httpx.get(f"{url}/models").json()}
            if versions["als"] == "v2":
                break
            time.sleep(0.2)
    finally:
        stop.set()
        thread.join()
    assert versions["als"] == "v2" and versions["popularity"] == "v1"
    assert failures == []
    assert httpx.post(f"{url}/recommendations", json={"user_ids": [1], "model": "als"}).json()["model_version"] == "v2"


SCHEMA_CASES = 1000


def test_the_service_matches_its_openapi_document(server):
    """Schemathesis with every check, on valid and invalid inputs for every operation: every answer is
    declared in the document and matches its schema, and what the schema forbids is rejected."""
    schema = schemathesis.openapi.from_url(f"{server['url']}/openapi.json")
    modes = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]
    calls = []

    @settings(max_examples=SCHEMA_CASES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    @given(case=st.one_of(*[schema.as_strategy(mode) for mode in modes]))
    def check(case):
        calls.append(f"{case.method} {case.path}")
        # an event's time must lie between the dbt var event_time_min and a day from now: JSON Schema
        # cannot say so of a date-time, so a schema-valid event may get its 422 (tests/test_live_events.py)
        # and POST /training answers its declared 503 here: no Dagster instance runs beside this test
        # (tests/test_training.py checks its answers against a Dagster GraphQL endpoint)
        excluded = {"/events": [positive_data_acceptance], "/training": [not_a_server_error]}
        case.call_and_validate(excluded_checks=next((v for k, v in excluded.items() if case.path.startswith(k)), None))

    check()
    per_operation = {op: calls.count(op) for op in sorted(set(calls))}
    print(f"schemathesis: {len(calls)} cases, 0 failures; per operation {per_operation}")
    spec = httpx.get(f"{server['url']}/openapi.json").json()
    assert len(per_operation) == sum(len(ops) for ops in spec["paths"].values())  # every operation was exercised


def test_oversized_bodies_are_rejected_at_once_and_nothing_else_waits(server):
    url = server["url"]
    big = b'{"user_ids": [' + b"1," * 6_000_000 + b"1]}"  # 12 MB
    with httpx.Client(timeout=30) as client:
        t0 = time.perf_counter()
        r = client.post(f"{url}/recommendations", content=big, headers={"content-type": "application/json"})
        took = time.perf_counter() - t0
        assert r.status_code == 413 and "RECSYS_MAX_BODY_BYTES" in r.json()["detail"]
        assert len(r.content) < 200  # nothing echoed
        # a chunked body (no Content-Length) is cut off as it passes the limit
        r = client.post(f"{url}/recommendations", content=iter([big[:2_000_000]]), headers={"content-type": "application/json"})
        assert r.status_code == 413
        assert client.get(f"{url}/health").status_code == 200
    print(f"413 for a 12 MB body in {took * 1000:.1f} ms")


def test_status_names_versions_provenance_and_a_waiting_version(sample_warehouse, tmp_path, monkeypatch):
    """What is served, when it was trained and on what; a version published but not loaded yet shows."""
    from fastapi.testclient import TestClient

    from service.app import build_app
    from service.registry import Registry

    data = load_interactions(sample_warehouse)
    origin = provenance(warehouse_label(sample_warehouse), data_window(sample_warehouse))
    models_dir = tmp_path / "models"
    for name, model in (("popularity", PopularityRecommender()), ("als", ALSRecommender(iterations=3))):
        publish(models_dir, name, "v1", model.fit(data.train), data, origin)
    registry = Registry(models_dir, sample_warehouse)
    registry.reload(force=True)  # no watcher: what is published next waits
    publish(models_dir, "als", "v2", ALSRecommender(iterations=3, seed=7).fit(data.train), data, origin)
    status = TestClient(build_app(registry)).get("/status").json()
    rows = {m["name"]: m for m in status["models"]}
    assert rows["als"]["version"] == "v1" and rows["als"]["newer_version_waiting"] == "v2"
    assert rows["popularity"]["newer_version_waiting"] is None
    assert rows["als"]["warehouse"] == "duckdb" and rows["als"]["trained_at"]  # the engine, not where it is
    monkeypatch.setenv("RECSYS_STATUS_SHOWS_WAREHOUSE", "1")
    shown = TestClient(build_app(registry)).get("/status").json()["models"]
    assert {m["name"]: m["warehouse"] for m in shown}["als"] == f"duckdb {sample_warehouse.name}"
    window = rows["als"]["data_window"]
    assert window["split_strategy"] == "last_days" and window["test_from"] > window["trained_on_events_from"]
    assert str(tmp_path) not in json.dumps(status)  # no filesystem path
