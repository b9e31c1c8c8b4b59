"""The operations routes: which models are served (/models), their versions, provenance and problems
(/status), and liveness with readiness (/health)."""

from __future__ import annotations

import os
from collections.abc import Callable

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from ml.live.experiments import Experiment
from ml.serving import freshness
from service.registry import Registry
from service.schemas import ExperimentStatus, Health, ModelInfo, ModelStatus, Status
from service.training import DagsterClient, latest_runs


def shown_warehouse(label: str | None) -> str | None:
    """The engine a model's data came from; its host and database only when RECSYS_STATUS_SHOWS_WAREHOUSE=1
    (/status answers anyone who can reach the service)."""
    if label is None or os.environ.get("RECSYS_STATUS_SHOWS_WAREHOUSE") == "1":
        return label
    return label.split(" ", 1)[0]


def operations_router(
    registry: Registry, experiments: list[Experiment] | None = None, dagster: Callable[..., DagsterClient] = DagsterClient
) -> APIRouter:
    router = APIRouter()

    @router.get("/models", response_model=list[ModelInfo])
    def models() -> list[ModelInfo]:
        """Served models, their artifact version and their latest evaluation (marts.leaderboard)."""
        snap = registry.snapshot
        return [
            ModelInfo(
                name=m.name,
                version=m.version,
                similar_items=m.similarity is not None,
                retrieval=m.retrieval,
                features={mart: fs.names for mart, fs in getattr(m.model, "features", {}).items()},
                metrics=snap.metrics.get(m.name, {}),
                metrics_of_served_version=(
                    snap.metrics[m.name].get("model_version") == m.version if m.name in snap.metrics else None
                ),
            )
            for m in snap.models.values()
        ]

    @router.get("/status", response_model=Status)
    def status() -> Status:
        """What is served: each model's version, when it was trained, on which warehouse and data window,
        how old its data is (its last event), and whether a newer materialization is waiting to be loaded."""
        snap, waiting = registry.snapshot, registry.waiting()
        rows = [
            ModelStatus(
                name=m.name,
                version=m.version,
                trained_at=m.provenance.get("trained_at"),
                warehouse=shown_warehouse(m.provenance.get("warehouse")),
                data_window=m.provenance.get("data_window"),
                data_until=(m.provenance.get("data_window") or {}).get("events_until"),
                data_age_days=freshness.age_now(m.provenance),
                newer_version_waiting=waiting.get(m.name),
            )
            for m in snap.models.values()
        ]
        rows += [  # published, not served: waiting for the next poll, or refused
            ModelStatus(
                name=n, version="(not loaded yet)" if n in waiting else "(not served)", newer_version_waiting=waiting.get(n)
            )
            for n in sorted({*waiting, *snap.problems} - set(snap.models))
        ]
        for row in rows:
            row.problem = snap.problems.get(row.name)
        running = [
            ExperimentStatus(name=e.name, arms=[{"name": a.name, "model": a.model, "share": a.share} for a in e.arms])
            for e in experiments or []
        ]
        retrains, unavailable = latest_runs(dagster(timeout=2))
        return Status(
            loaded_at=snap.loaded_at,
            reload_interval_s=registry.reload_interval_s,
            models=rows,
            experiments=running,
            retraining=retrains,
            retraining_unavailable=unavailable,
        )

    @router.get("/health", response_model=Health, responses={503: {"model": Health, "description": "no model loaded yet"}})
    def health():
        """Liveness and readiness: 503 until a model is loaded; ``degraded`` (still 200) while a published
        version is refused on load (``problems`` says which, why, and what is served instead)."""
        snap = registry.snapshot
        body = Health(
            status="no models loaded" if not snap.models else "degraded" if snap.problems else "ok",
            models={n: m.version for n, m in snap.models.items()},
            loaded_at=snap.loaded_at,
            problems=snap.problems,
        )
        return body if snap.models else JSONResponse(status_code=503, content=body.model_dump())

    return router
