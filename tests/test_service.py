"""The FastAPI service, started for real with uvicorn on a free loopback port."""

import json
import os
import threading
import time
from urllib.parse import quote

import httpx
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ml import artifacts
from ml.data import ServingIndex, load_interactions
from ml.recommenders import ALSRecommender, PopularityRecommender
from tests.conftest import running_service


def publish(models_dir, model, data, version):
    index = ServingIndex.from_data(data)

    def write(directory):
        model.save(directory)
        index.save(directory)

    return artifacts.publish(models_dir, model.name, version, write)


@pytest.fixture(scope="module")
def server(sample_warehouse, tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("serve") / "data"
    data = load_interactions(sample_warehouse)
    publish(data_dir / "models", PopularityRecommender().fit(data.train), data, "v1")
    publish(data_dir / "models", ALSRecommender(iterations=5).fit(data.train), data, "v1")
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


def test_similar_items_and_error_cases(server):
    url = server["url"]
    item = int(server["data"].items.item_id[0])
    r = httpx.get(f"{url}/items/{item}/similar", params={"k": 4, "model": "als"})
    assert r.status_code == 200
    sims = r.json()["items"]
    assert len(sims) == 4 and item not in [s["item_id"] for s in sims] and sims[0]["category"]
    assert httpx.get(f"{url}/items/99999999/similar").status_code == 404
    assert "not in the catalogue" in httpx.get(f"{url}/items/99999999/similar").json()["detail"]
    assert httpx.get(f"{url}/items/{item}/similar", params={"model": "popularity"}).status_code == 400
    assert httpx.get(f"{url}/users/1/recommendations", params={"model": "nope"}).status_code == 404
    for params in ({"k": 0}, {"k": 101}, {"k": "ten"}):
        assert httpx.get(f"{url}/users/1/recommendations", params=params).status_code == 422
    for body in ({"user_ids": []}, {"user_ids": list(range(1001))}, {"user_ids": ["a"]}, {"user_ids": [1], "top_n": 0}, {}):
        assert httpx.post(f"{url}/recommendations", json=body).status_code == 422
    assert httpx.get(f"{url}/users/abc/recommendations").status_code == 422
    for raw in ('{"user_ids": [1, NaN]}', '{"user_ids": [1], "top_n": Infinity}', "NaN"):  # non-standard JSON tokens
        r = httpx.post(f"{url}/recommendations", content=raw, headers={"content-type": "application/json"})
        assert r.status_code == 422 and r.json()["detail"][0]["input"] in ("nan", "inf"), r.text


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
        publish(server["models_dir"], ALSRecommender(iterations=3, seed=7).fit(data.train), data, "v2")
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


VALUES = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.text(max_size=20),
    st.none(),
    st.booleans(),
    st.floats(allow_nan=True),
    st.lists(st.integers(min_value=-(2**64), max_value=2**64), max_size=5),
)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(data=st.data())
def test_fuzz_the_openapi_schema_never_gives_500(server, data):
    """Every operation of the published OpenAPI schema, with arbitrary path, query and body values."""
    url = server["url"]
    spec = server.setdefault("spec", httpx.get(f"{url}/openapi.json").json())
    path, ops = data.draw(st.sampled_from(sorted(spec["paths"].items())))
    method, op = data.draw(st.sampled_from(sorted(ops.items())))
    concrete, query = path, {}
    for param in op.get("parameters", []):
        value = data.draw(VALUES)
        if param["in"] == "path":
            concrete = concrete.replace("{" + param["name"] + "}", quote(str(value), safe="") or "x")
        elif data.draw(st.booleans()):
            query[param["name"]] = "" if value is None else str(value)
    kwargs = {"params": query}
    if "requestBody" in op:
        body = data.draw(
            st.one_of(st.fixed_dictionaries({}, optional={"user_ids": VALUES, "top_n": VALUES, "model": VALUES}), VALUES)
        )
        # json.dumps writes NaN/Infinity tokens (httpx's json= refuses them): the server must answer 422, not 500
        kwargs["content"] = json.dumps(body)
        kwargs["headers"] = {"content-type": "application/json"}
    r = httpx.request(method.upper(), f"{url}{concrete}", **kwargs)
    assert r.status_code < 500, (method, concrete, kwargs, r.text[:300])
