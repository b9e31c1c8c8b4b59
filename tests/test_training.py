"""POST /training: a retrain goes to the Dagster instance's queue as tagged runs (tuning, model,
evaluation), one queued or running retrain per model, /status shows each model's latest run, and
without a webserver or a daemon the refusal says what to start. The instance is a fake GraphQL
endpoint that keeps runs as Dagster's does; the real one is checked by hand (README, the closing note)."""

import json
import time
from functools import partial

import httpx
import pytest
from fastapi.testclient import TestClient

from ml.live.log import LiveLog
from ml.recommenders import PopularityRecommender
from ml.serving.publish import publish
from service.app import build_app
from service.registry import Registry
from service.training import DagsterClient
from tests.conftest import free_port, tiny_data


class FakeDagster:
    """The webserver's GraphQL answers the service relies on, over an in-memory run list."""

    def __init__(self, daemon: bool = True) -> None:
        self.daemon, self.runs, self.launched = daemon, [], []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        text, variables = body["query"], body.get("variables") or {}
        if "daemonHealth" in text:
            beat = time.time() - (5 if self.daemon else 600)  # a daemon that died ten minutes ago
            statuses = [{"daemonType": "QUEUED_RUN_COORDINATOR", "healthy": True, "required": True, "lastHeartbeatTime": beat}]
            return httpx.Response(200, json={"data": {"instance": {"daemonHealth": {"allDaemonStatuses": statuses}}}})
        if "workspaceOrError" in text:
            return httpx.Response(200, json={"data": {"workspaceOrError": {"locationEntries": [{"name": "recsys"}]}}})
        if "runsOrError" in text:
            flt = variables["f"]
            wanted = {t["key"]: t.get("value") for t in flt["tags"]}
            found = [
                r for r in reversed(self.runs)
                if all(any(t["key"] == k and v in (None, t["value"]) for t in r["tags"]) for k, v in wanted.items())
                and r["status"] in flt.get("statuses", [r["status"]])
            ]  # fmt: skip
            results = found[: variables.get("n")]  # newest first, up to the limit
            return httpx.Response(200, json={"data": {"runsOrError": {"__typename": "Runs", "results": results}}})
        params = variables["p"]
        run = {"runId": f"run-{len(self.runs) + 1}", "status": "QUEUED", "tags": params["executionMetadata"]["tags"]}
        self.runs.append(run)
        self.launched.append(["/".join(a["path"]) for a in params["selector"]["assetSelection"]])
        return httpx.Response(200, json={"data": {"launchPipelineExecution": {"__typename": "LaunchRunSuccess", "run": run}}})


def client_for(tmp_path, dagster) -> TestClient:
    data = tiny_data()
    publish(tmp_path / "models", "popularity", "v1", PopularityRecommender().fit(data.train), data)
    registry = Registry(tmp_path / "models", tmp_path / "none.duckdb", reload_interval_s=60)
    return TestClient(build_app(registry, LiveLog(tmp_path / "live.sqlite"), dagster))


def test_a_retrain_is_queued_once_per_model_and_shows_in_status(tmp_path):
    fake = FakeDagster()
    dagster = partial(DagsterClient, "http://dagster", httpx.MockTransport(fake))
    with client_for(tmp_path, dagster) as client:
        r = client.post("/training", json={"models": ["als", "popularity", "als"]})
        assert r.status_code == 202, r.text
        assert r.json() == {"runs": [{"model": "als", "run_id": "run-1", "status": "QUEUED"},
                                     {"model": "popularity", "run_id": "run-2", "status": "QUEUED"}]}  # fmt: skip
        assert fake.launched == [["tuning/als", "models/als", "evaluation/als"], ["models/popularity", "evaluation/popularity"]]
        again = client.post("/training", json={"models": ["ease", "als"]})
        assert again.status_code == 409 and "als: run run-1 is QUEUED" in again.json()["detail"]
        assert len(fake.runs) == 2  # nothing was queued for ease either: the request is refused whole
        fake.runs[0]["status"] = "SUCCESS"
        assert client.post("/training", json={"models": ["als"]}).json()["runs"][0]["run_id"] == "run-3"
        status = client.get("/status").json()
    assert status["retraining"] == {
        "als": {"run_id": "run-3", "status": "QUEUED"},
        "popularity": {"run_id": "run-2", "status": "QUEUED"},
    }
    assert status["retraining_unavailable"] is None


@pytest.mark.parametrize("body", [{"models": []}, {"models": ["nope"]}, {"models": "als"}, {"model": ["als"]}])
def test_a_bad_training_request_is_a_422(tmp_path, body):
    with client_for(tmp_path, partial(DagsterClient, "http://dagster", httpx.MockTransport(FakeDagster()))) as client:
        assert client.post("/training", json=body).status_code == 422


def test_without_a_daemon_or_a_webserver_the_refusal_says_what_to_start(tmp_path):
    fake = FakeDagster(daemon=False)
    with client_for(tmp_path, partial(DagsterClient, "http://dagster", httpx.MockTransport(fake))) as client:
        r = client.post("/training", json={"models": ["als"]})
        assert r.status_code == 503 and "no running daemon" in r.json()["detail"] and fake.runs == []
    nowhere = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    with client_for(tmp_path, partial(DagsterClient, nowhere)) as client:
        r = client.post("/training", json={"models": ["als"]})
        assert r.status_code == 503 and f"no Dagster webserver answers at {nowhere}" in r.json()["detail"]
        status = client.get("/status").json()
        assert status["retraining"] == {} and "dagster dev" in status["retraining_unavailable"]
