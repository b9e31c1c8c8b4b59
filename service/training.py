"""``POST /training``: retrain served models from the API, as a serving user expects.

The service submits a run to the Dagster instance the way the UI's Materialize button does: through the
webserver's GraphQL API (``RECSYS_DAGSTER_URL``, default http://127.0.0.1:3000, what ``dagster dev``
serves), so the run goes to the instance's run queue and the daemon starts it; the service never imports
Dagster (ARCHITECTURE.md). A model's retrain materializes its tuning (where it has one), the model and
its evaluation: its marts are read as they are. Each run is tagged ``recsys/retrain=<model>``, which is
how one queued or running retrain per model is enforced (409 with the run that holds it) and how
``/status`` finds each model's latest retrain and its state. Refused with 503 and the reason when the
webserver cannot be reached or the instance has no healthy run-queue daemon (a queued run would never
start).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Literal

import httpx
from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, ConfigDict, Field

from ml.models import SERVED
from ml.tuning import TUNED
from service.schemas import declared

TAG = "recsys/retrain"
ACTIVE = ["QUEUED", "NOT_STARTED", "STARTING", "STARTED"]
LAUNCH = """mutation($p: ExecutionParams!) { launchPipelineExecution(executionParams: $p) {
  __typename ... on LaunchRunSuccess { run { runId status } } ... on PythonError { message }
  ... on InvalidSubsetError { message } ... on RunConfigValidationInvalid { errors { message } } } }"""
RUNS = """query($f: RunsFilter, $n: Int) { runsOrError(filter: $f, limit: $n) {
  __typename ... on Runs { results { runId status tags { key value } } } ... on PythonError { message } } }"""
DAEMONS = "{ instance { daemonHealth { allDaemonStatuses { daemonType healthy required lastHeartbeatTime } } } }"
# the daemon beats every 30 s; Dagster calls it healthy for minutes after its last beat, but a run queued
# then would wait for a daemon that is gone: three missed beats mean no daemon
HEARTBEAT_S = 90
LOCATION = "{ workspaceOrError { ... on Workspace { locationEntries { name } } } }"


class TrainingUnavailable(RuntimeError):
    """No Dagster instance that would run a retrain; the message says what to start."""


def dagster_url() -> str:
    return os.environ.get("RECSYS_DAGSTER_URL", "http://127.0.0.1:3000").rstrip("/")


class DagsterClient:
    def __init__(self, url: str | None = None, transport: httpx.BaseTransport | None = None, timeout: float = 10) -> None:
        self.url = url or dagster_url()
        self.http = httpx.Client(base_url=self.url, transport=transport, timeout=timeout)

    def query(self, text: str, variables: dict | None = None) -> dict:
        try:
            answer = self.http.post("/graphql", json={"query": text, "variables": variables or {}})
        except httpx.HTTPError as exc:
            raise TrainingUnavailable(
                f"no Dagster webserver answers at {self.url} ({type(exc).__name__}): start `dagster dev` (or set "
                "RECSYS_DAGSTER_URL to the instance's webserver)"
            ) from None
        body = answer.json() if answer.status_code == 200 else {}
        if "data" not in body:
            raise TrainingUnavailable(f"the Dagster webserver at {self.url} answered {answer.status_code} to a GraphQL query")
        return body["data"]

    def require_daemon(self) -> None:
        statuses = self.query(DAEMONS)["instance"]["daemonHealth"]["allDaemonStatuses"]
        queue = [s for s in statuses if s["daemonType"] == "QUEUED_RUN_COORDINATOR"]
        beat = (queue[0].get("lastHeartbeatTime") or 0) if queue else 0
        if not queue or not queue[0]["healthy"] or time.time() - beat > HEARTBEAT_S:
            raise TrainingUnavailable(
                f"the Dagster instance at {self.url} has no running daemon to start queued runs: run `dagster dev` "
                "(it starts one) or `dagster-daemon run` beside the webserver"
            )

    def runs(self, model: str, active: bool = False, limit: int = 1) -> list[dict]:
        """A model's retrain runs, newest first; only queued or running ones when ``active``."""
        flt: dict = {"tags": [{"key": TAG, "value": model}], **({"statuses": ACTIVE} if active else {})}
        found = self.query(RUNS, {"f": flt, "n": limit})["runsOrError"]
        if found["__typename"] != "Runs":
            raise TrainingUnavailable(f"Dagster could not list runs: {found.get('message', found['__typename'])}")
        return found["results"]

    def launch(self, assets: list[str], tags: dict[str, str]) -> dict:
        """Submit a run of ``assets`` (keys like ``models/als``) to the queue; its runId and status."""
        location = self.query(LOCATION)["workspaceOrError"]["locationEntries"][0]["name"]
        params = {
            "selector": {
                "repositoryLocationName": location,
                "repositoryName": "__repository__",
                "pipelineName": "__ASSET_JOB",
                "assetSelection": [{"path": a.split("/")} for a in assets],
                "assetCheckSelection": [],
            },
            "mode": "default",
            "executionMetadata": {"tags": [{"key": k, "value": v} for k, v in tags.items()]},
        }
        result = self.query(LAUNCH, {"p": params})["launchPipelineExecution"]
        if result["__typename"] != "LaunchRunSuccess":
            raise TrainingUnavailable(f"Dagster refused the run: {result.get('message') or result}")
        return result["run"]


def latest_runs(client: DagsterClient) -> tuple[dict[str, dict], str | None]:
    """Each served model's latest retrain run (run_id, status), by the tag; or why Dagster cannot be asked."""
    out: dict[str, dict] = {}
    try:
        for model in SERVED:
            for run in client.runs(model):
                out[model] = {"run_id": run["runId"], "status": run["status"]}
    except TrainingUnavailable as exc:
        return {}, str(exc)
    return out, None


def retrain_assets(model: str) -> list[str]:
    """What a retrain of ``model`` materializes: its tuning (where it has one), the model, its evaluation."""
    return [*([f"tuning/{model}"] if model in TUNED else []), f"models/{model}", f"evaluation/{model}"]


Retrainable = Literal[tuple(SERVED)]  # type: ignore[valid-type]  # an enum in the schema


class TrainingRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    models: list[Retrainable] = Field(..., min_length=1, max_length=len(SERVED), description="served models to retrain")  # type: ignore[valid-type]


class TrainingRun(BaseModel):
    model: str
    run_id: str = Field(..., description="the Dagster run (open it in the Dagster UI: /runs/<run_id>)")
    status: str = Field(..., description="its state in the instance: QUEUED, STARTED, SUCCESS, FAILURE, ...")


class TrainingResponse(BaseModel):
    runs: list[TrainingRun]


def training_router(client: Callable[..., DagsterClient] = DagsterClient) -> APIRouter:
    router = APIRouter()

    @router.post("/training", status_code=202, response_model=TrainingResponse, responses=declared(400, 409, 413, 503))
    def retrain(body: TrainingRequest) -> TrainingResponse:
        """Queue a retrain of each model (tuning, model, evaluation) in the Dagster instance; returns at once with
        the runs. 409 while a model has a retrain queued or running; 503 when no Dagster daemon would run it."""
        dagster, models = client(), list(dict.fromkeys(body.models))
        try:
            dagster.require_daemon()
            held = {m: found[0] for m in models if (found := dagster.runs(m, active=True))}
            if held:
                taken = "; ".join(f"{m}: run {r['runId']} is {r['status']}" for m, r in held.items())
                raise HTTPException(409, f"{taken}. One retrain at a time per model: wait for it, or cancel it in the Dagster UI")
            runs = [(m, dagster.launch(retrain_assets(m), {TAG: m})) for m in models]
        except TrainingUnavailable as exc:
            raise HTTPException(503, str(exc)) from None
        return TrainingResponse(runs=[TrainingRun(model=m, run_id=r["runId"], status=r["status"]) for m, r in runs])

    return router
