"""A damaged artifact never takes a model out of service while a valid version is on disk: the file is
named in a log line with time and level, /status and /health say what is refused and what is served
instead, and a request for a model with no loadable version gets a 503 that says why."""

import dataclasses
import json
import re

import pytest
from fastapi.testclient import TestClient

from ml import artifacts
from ml.recommenders import ALSRecommender, PopularityRecommender
from ml.serving import ann
from ml.serving.publish import publish
from service.app import build_app
from service.registry import Registry
from service.served import load_served
from tests.conftest import tiny_data

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z$")


def publish_als(models_dir, version: str, seed: int = 0) -> None:
    data = tiny_data(seed)
    publish(models_dir, "als", version, ALSRecommender(factors=4, iterations=3).fit(data.train), data)


@pytest.fixture
def models_dir(tmp_path):
    for version in ("v1", "v2"):
        publish_als(tmp_path / "models", version)
    publish(tmp_path / "models", "popularity", "v1", PopularityRecommender().fit(tiny_data().train), tiny_data())
    return tmp_path / "models"


def truncate(path, keep: int = 100) -> None:
    path.write_bytes(path.read_bytes()[:keep])


def test_a_truncated_latest_falls_back_to_the_newest_valid_version_after_a_restart(models_dir, tmp_path, capfd):
    truncate(models_dir / "als" / "v2" / "arrays.npz")
    registry = Registry(models_dir, tmp_path / "none.duckdb")
    registry.reload(force=True)  # a restart: nothing served before
    client = TestClient(build_app(registry))
    assert registry.snapshot.models["als"].version == "v1"
    problem = registry.snapshot.problems["als"]
    assert re.fullmatch(r"latest version v2 refused: v2/arrays\.npz has 100 bytes, [\d,]+ were published; serving v1", problem)
    health = client.get("/health")
    assert health.status_code == 200 and health.json()["status"] == "degraded" and health.json()["problems"] == {"als": problem}
    rows = {m["name"]: m for m in client.get("/status").json()["models"]}
    assert rows["als"]["version"] == "v1" and rows["als"]["problem"] == problem and rows["als"]["newer_version_waiting"] is None
    assert client.get("/users/1/recommendations", params={"model": "als"}).json()["items"]
    lines = [json.loads(line) for line in capfd.readouterr().err.splitlines() if line.startswith("{")]
    logged = [line for line in lines if line["logger"] == "recsys.service" and line["event"].startswith("als")]
    assert len(logged) == 2, lines
    assert all(line["level"] in ("error", "warning") and TIMESTAMP.match(line["timestamp"]) for line in logged), logged
    assert "v2/arrays.npz has 100 bytes" in logged[0]["event"] and "serving version v1" in logged[1]["event"]
    assert str(tmp_path) not in json.dumps(client.get("/status").json())  # no filesystem path in public answers


def test_no_loadable_version_is_a_503_with_the_reason_and_a_new_version_heals_it(models_dir, tmp_path):
    for version in ("v1", "v2"):
        (models_dir / "als" / version / "params.json").write_text("{}")
    registry = Registry(models_dir, tmp_path / "none.duckdb")
    registry.reload(force=True)
    client = TestClient(build_app(registry))
    assert "als" not in registry.snapshot.models and registry.snapshot.problems["als"].endswith("no version on disk loads")
    assert client.get("/health").json()["status"] == "degraded"
    answer = client.get("/users/1/recommendations", params={"model": "als"})
    assert answer.status_code == 503 and "v2/params.json has 2 bytes" in answer.json()["detail"]
    row = next(m for m in client.get("/status").json()["models"] if m["name"] == "als")
    assert row["version"] == "(not served)" and "no version on disk loads" in row["problem"]
    assert not registry.reload()  # a refused version is not retried every poll
    publish_als(models_dir, "v3", seed=1)
    assert registry.reload() and registry.snapshot.models["als"].version == "v3"
    assert client.get("/health").json() == {**client.get("/health").json(), "status": "ok", "problems": {}}


def test_an_empty_or_foreign_ann_index_is_refused_whatever_the_catalogue_size(models_dir, monkeypatch):
    monkeypatch.setenv("RECSYS_ANN_MIN_ITEMS", "1000000")  # the index would not even be used
    version = models_dir / "als" / "v1"
    assert (version / ann.FILE).exists()
    (version / ann.FILE).write_bytes(b"")
    with pytest.raises(artifacts.ArtifactDamaged, match=r"v1/ann\.faiss has 0 bytes"):
        load_served("als", version)
    (version / artifacts.MANIFEST).unlink()  # a version published before the manifest: the index itself is checked
    with pytest.raises(ValueError, match=r"v1/ann\.faiss \(0 bytes\) is not a FAISS index"):
        load_served("als", version)
    (version / ann.FILE).write_bytes((models_dir / "als" / "v2" / ann.FILE).read_bytes())  # another version's index
    load_served("als", version)  # same shape: v2 indexes the same items with the same factors count


def test_api_key_and_rate_limit_are_off_by_default_and_enforced_when_set(models_dir, tmp_path, monkeypatch):
    registry = Registry(models_dir, tmp_path / "none.duckdb")
    registry.reload(force=True)
    open_client = TestClient(build_app(registry))
    assert all(open_client.get("/users/1/recommendations").status_code == 200 for _ in range(30))
    monkeypatch.setenv("RECSYS_API_KEY", "s3cret")
    monkeypatch.setenv("RECSYS_RATE_LIMIT", "5")
    client = TestClient(build_app(registry))
    refused = client.get("/users/1/recommendations")
    assert refused.status_code == 401 and "X-API-Key" in refused.json()["detail"]
    assert client.get("/users/1/recommendations", headers={"X-API-Key": "wrong"}).status_code == 401
    assert client.get("/health").status_code == 200  # probes need no key
    codes = [client.get("/users/1/recommendations", headers={"X-API-Key": "s3cret"}).status_code for _ in range(30)]
    assert codes[:10] == [200] * 10 and codes[-1] == 429  # a burst of 2 x 5 per second, then refused
    limited = client.get("/users/1/recommendations", headers={"Authorization": "Bearer s3cret"})
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
    assert {"401", "429"} <= set(
        client.get("/openapi.json").json()["paths"]["/users/{user_id}/recommendations"]["get"]["responses"]
    )
    monkeypatch.setenv("RECSYS_RATE_LIMIT", "fast")
    with pytest.raises(ValueError, match="RECSYS_RATE_LIMIT='fast': give requests per second"):
        build_app(registry)


def test_models_says_when_its_metrics_are_of_another_version(models_dir, tmp_path):
    registry = Registry(models_dir, tmp_path / "none.duckdb")
    registry.reload(force=True)
    metrics = {"als": {"model_version": "v1", "ndcg_at_10": 0.1}, "popularity": {"model_version": "v1", "ndcg_at_10": 0.05}}
    registry._snapshot = dataclasses.replace(registry.snapshot, metrics=metrics)  # as read from marts.leaderboard
    models = {m["name"]: m for m in TestClient(build_app(registry)).get("/models").json()}
    assert models["als"]["version"] == "v2" and models["als"]["metrics_of_served_version"] is False
    assert models["popularity"]["metrics_of_served_version"] is True
