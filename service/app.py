"""HTTP API over the materialized models.

    RECSYS_DATA_DIR=data uvicorn service.app:app --host 127.0.0.1 --port 8000 --no-access-log

Environment: RECSYS_DATA_DIR / RECSYS_DUCKDB_PATH (as everywhere), RECSYS_RELOAD_INTERVAL_S (poll
period of the artifact watcher, default 5), RECSYS_DEFAULT_MODEL (default als), RECSYS_MAX_BODY_BYTES
(largest request body accepted, default 1 MiB; larger ones get 413 before they are read),
RECSYS_ANN_MIN_ITEMS (catalogue size from which ALS and two-tower answer through their ANN index),
RECSYS_API_KEY (when set, every route but /health and the docs wants it as the X-API-Key header),
RECSYS_RATE_LIMIT (requests per second per client address, bursts of twice that; 429 beyond),
RECSYS_STATUS_SHOWS_WAREHOUSE (1: /status names the warehouse's host and database, not only its engine),
PROMETHEUS_MULTIPROC_DIR (several workers: /metrics sums them), RECSYS_OTEL (1: a trace span per request),
RECSYS_LIVE_LOG (the live log of events received and lists served, shared by the workers: ``ml.live.log``),
RECSYS_EXPERIMENTS (the experiments that split the per-user route's traffic: ``ml.live.experiments``).
Log lines are JSON with the request id (``service.logs``); run uvicorn with ``--no-access-log``.

Every status code a route can return is declared in the OpenAPI document, and the constraints there
are the ones enforced (ids are JSON integers, no strings or booleans; one beyond the warehouse's int64
range is an unknown id; a query parameter given twice is a 422, not one of its values). No response carries a
filesystem path, a stack trace or a library's name.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from ml import settings
from ml.live import experiments as exp
from ml.live.log import Exposure, LiveLog
from ml.models import FALLBACK, SERVABLE
from service.docs import self_hosted_docs
from service.events import events_router
from service.metrics import FALLBACKS, FRESH, RETRIEVALS, metrics_router
from service.middleware import AccessControl, BodySizeLimit, access_settings
from service.observe import Observed, current_request_id, note_model
from service.recommend import NoFallback, personal_scores, recommend
from service.registry import Registry, Snapshot
from service.schemas import (
    DEFAULT_MODEL,
    MAX_BODY_BYTES,
    MAX_K,
    FoundItem,
    RecommendationsRequest,
    RecommendationsResponse,
    SearchResponse,
    SimilarItem,
    SimilarItemsResponse,
    UserRecommendationsResponse,
    declared,
    item_fields,
    json_response,
    single_query_values,
)
from service.served import ServedModel
from service.status import operations_router
from service.training import DagsterClient, training_router


def build_app(
    registry: Registry | None = None, live: LiveLog | None = None, dagster: Callable[..., DagsterClient] = DagsterClient
) -> FastAPI:
    """The API over ``registry``'s models, logging to ``live``, retraining through ``dagster`` (a client factory)."""
    registry = registry or Registry(
        settings.artifacts_dir(), settings.warehouse_path(), float(os.environ.get("RECSYS_RELOAD_INTERVAL_S", "5"))
    )
    live = live or LiveLog(settings.live_log_path())
    experiments = {e.name: e for e in exp.load(settings.experiments_path(), SERVABLE)}

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        registry.start()
        yield
        registry.stop()
        live.close()

    api_key, rate = access_settings()
    app = FastAPI(
        title="recsys-platform",
        version="0.1.0",
        lifespan=lifespan,
        description="Recommendations from the models the Dagster graph materialized.",
        responses=declared(*[code for code, on in ((401, api_key), (429, rate)) if on]),
        docs_url=None,  # self-hosted below
        redoc_url=None,
        dependencies=[Depends(single_query_values)],
    )
    self_hosted_docs(app)
    app.state.registry, app.state.live, app.state.experiments = registry, live, experiments
    app.add_middleware(BodySizeLimit, limit=MAX_BODY_BYTES)
    app.add_middleware(AccessControl, api_key=api_key, rate=rate)  # refuses before a body is read
    app.add_middleware(Observed)  # outermost: every answer, refusals included, is counted, timed and logged

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        # where and what, never the input itself: an input may be megabytes, or hold NaN/Infinity
        # tokens (Python's JSON parser accepts them) that are not valid JSON to send back
        errors = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()]
        return JSONResponse({"detail": jsonable_encoder(errors)}, status_code=422)

    def get_model(snap: Snapshot, name: str) -> ServedModel:
        note_model(name)
        if name in snap.problems and name not in snap.models:
            raise HTTPException(503, f"model {name!r} is not served: {snap.problems[name]}")
        if name not in snap.models:
            raise HTTPException(404, f"model {name!r} is not available; available: {sorted(snap.models)}")
        return snap.models[name]

    def user_payload(r) -> dict:
        # plain dicts serialised by orjson: the hot path skips response-model validation (the
        # response_model on each route still documents the schema in OpenAPI)
        return {
            "user_id": int(r.user_id),
            "fallback": r.fallback,
            "fresh_events": r.fresh_events,
            "items": [
                {"item_id": int(i), "score": float(s) if math.isfinite(s) else 0.0}
                for i, s in zip(r.item_ids.tolist(), r.scores.tolist(), strict=True)
            ],
        }

    def serve(snap: Snapshot, name: str, user_ids: list[int], k: int, arm: tuple[str, str] | None = None):
        """The model's lists for the users, each logged as exposures (with the experiment arm) before the answer."""
        served = get_model(snap, name)
        try:
            results = recommend(served, snap.models.get(FALLBACK), user_ids, k, live)
        except NoFallback as exc:
            raise HTTPException(503, str(exc)) from exc
        for r in results:
            if r.fallback:
                FALLBACKS.labels(name, r.fallback).inc()
        RETRIEVALS.labels(name, served.retrieval).inc(sum(r.fallback is None for r in results))
        FRESH.labels(name).inc(sum(r.fresh_events > 0 for r in results))
        experiment, arm_name = arm or (None, None)
        request = current_request_id() or "none"
        live.log_exposures(
            Exposure(request, int(r.user_id), int(i), p, float(s), name, served.version, experiment, arm_name)
            for r in results
            for p, (i, s) in enumerate(zip(r.item_ids.tolist(), r.scores.tolist(), strict=True), start=1)
        )
        return served, results

    # async handlers: scoring one request takes well under a millisecond, so it runs on the event
    # loop instead of paying a thread-pool hop per request
    @app.post("/recommendations", response_model=RecommendationsResponse, responses=declared(400, 404, 413, 503))
    async def batch_recommendations(body: RecommendationsRequest):
        """Top-N for a batch of users; seen items excluded, unknown users get the fallback."""
        served, results = serve(registry.snapshot, body.model, body.user_ids, body.top_n)
        return json_response(
            {"model": body.model, "model_version": served.version, "results": [user_payload(r) for r in results]}
        )

    @app.get("/users/{user_id}/recommendations", response_model=UserRecommendationsResponse, responses=declared(404, 503))
    async def user_recommendations(
        user_id: int,
        k: Annotated[int, Query(ge=1, le=MAX_K)] = 10,
        model: Annotated[str | None, Query(max_length=64, description=f"default: an experiment arm or {DEFAULT_MODEL}")] = None,
        experiment: Annotated[str | None, Query(max_length=64, description="default: the first running experiment")] = None,
    ):
        """Top-k for one user; seen items excluded, unknown users get the fallback. Without ``model``, a
        running experiment picks the user's arm (stable per user)."""
        arm = None
        if experiment is not None and experiment not in experiments:
            raise HTTPException(404, f"experiment {experiment!r} is not running; running: {sorted(experiments)}")
        if model is None and experiments:
            running = experiments[experiment] if experiment else next(iter(experiments.values()))
            chosen = running.arm(user_id)
            model, arm = chosen.model, (running.name, chosen.name)
        model = model or DEFAULT_MODEL
        served, results = serve(registry.snapshot, model, [user_id], k, arm)
        return json_response(
            {"model": model, "model_version": served.version, "experiment": arm and arm[0], "arm": arm and arm[1],
             **user_payload(results[0])}
        )  # fmt: skip

    @app.get("/items/{item_id}/similar", response_model=SimilarItemsResponse, responses=declared(400, 404, 503))
    def similar_items(
        item_id: int, k: Annotated[int, Query(ge=1, le=MAX_K)] = 10, model: Annotated[str, Query(max_length=64)] = DEFAULT_MODEL
    ) -> SimilarItemsResponse:
        """Items most similar to one item, with their attributes."""
        snap = registry.snapshot
        served = get_model(snap, model)
        if served.similarity is None:
            similar = sorted(n for n, m in snap.models.items() if m.similarity is not None)
            raise HTTPException(400, f"model {model!r} has no item similarity; use one of {similar}")
        found = served.similar(item_id, k)
        if found is None:
            raise HTTPException(404, f"item {item_id} is not in the catalogue of {model} {served.version}")
        positions, scores = found
        rows = served.items.iloc[positions]
        return SimilarItemsResponse(
            model=model,
            model_version=served.version,
            item_id=item_id,
            items=[SimilarItem(score=float(s), **item_fields(r)) for r, s in zip(rows.itertuples(), scores, strict=True)],
        )

    @app.get("/search", response_model=SearchResponse, responses=declared(404, 503))
    def search(
        q: Annotated[str, Query(min_length=1, max_length=200, description="words of a title, category or brand")],
        k: Annotated[int, Query(ge=1, le=MAX_K)] = 10,
        user_id: Annotated[int | None, Query(description="personalise for this user (unknown users: not personalised)")] = None,
        model: Annotated[str, Query(max_length=64, description="the model that personalises")] = DEFAULT_MODEL,
        personal_weight: Annotated[float, Query(ge=0, le=1, description="weight of the user's model score")] = 0.3,
    ) -> SearchResponse:
        """Items matching a query by title, category and brand; with user_id, reordered by the user's model scores."""
        snap = registry.snapshot
        if snap.catalogue is None:
            raise HTTPException(503, "no model is loaded yet, so there is no catalogue to search")
        catalogue, scores, used = snap.catalogue, None, None
        if user_id is not None:
            scores = personal_scores(get_model(snap, model), catalogue, user_id)
            used = model if scores is not None else None
        found = catalogue.search.search(q, k, scores, personal_weight)
        rows = catalogue.items.iloc[found.positions]
        return SearchResponse(
            query=q,
            personalised_with=used,
            catalogue_version=f"{catalogue.model}/{catalogue.version}",
            items=[
                FoundItem(relevance=float(rel), score=float(sc), **item_fields(r))
                for r, rel, sc in zip(rows.itertuples(), found.relevance, found.scores, strict=True)
            ],
        )

    app.include_router(events_router(live))
    app.include_router(training_router(dagster))
    app.include_router(operations_router(registry, list(experiments.values()), dagster))
    app.include_router(metrics_router(registry))
    return app


app = build_app()
