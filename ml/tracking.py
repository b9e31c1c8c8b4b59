"""Optional MLflow tracking: with ``MLFLOW_TRACKING_URI`` set (and ``pip install -e ".[tracking]"``),
every training and evaluation asset logs its parameters, metrics and artifact path to one MLflow run
per Dagster run, named after it (``dagster-<run id>``, tag ``dagster_run_id``), in the experiment
``RECSYS_MLFLOW_EXPERIMENT`` (default ``recsys``). Keys are prefixed with the model (``als.factors``,
``als.ndcg_at_10``). Off by default: nothing is imported or written without the variable.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any

import pandas as pd

logger = logging.getLogger("recsys.tracking")
RUN_TAG = "dagster_run_id"


def enabled() -> bool:
    return bool(os.environ.get("MLFLOW_TRACKING_URI"))


def _run_for(client: Any, dagster_run_id: str) -> str:
    """The MLflow run of this Dagster run (created by its first asset)."""
    name = os.environ.get("RECSYS_MLFLOW_EXPERIMENT", "recsys")
    experiment = client.get_experiment_by_name(name)
    experiment_id = experiment.experiment_id if experiment else client.create_experiment(name)
    found = client.search_runs([experiment_id], filter_string=f"tags.{RUN_TAG} = '{dagster_run_id}'", max_results=1)
    if found:
        return found[0].info.run_id
    run = client.create_run(experiment_id, run_name=f"dagster-{dagster_run_id[:8]}", tags={RUN_TAG: dagster_run_id})
    return run.info.run_id


def log(dagster_run_id: str, model: str, params: dict | None = None, metrics: dict[str, float] | None = None) -> str | None:
    """Log ``params`` and ``metrics`` of ``model`` to the Dagster run's MLflow run; its id, or None when
    tracking is off. A tracking failure is logged, never raised: it must not fail a training."""
    if not enabled():
        return None
    try:
        from mlflow.entities import Metric, Param
        from mlflow.tracking import MlflowClient

        client = MlflowClient()
        run_id = _run_for(client, dagster_run_id)
        now = int(time.time() * 1000)
        client.log_batch(
            run_id,
            params=[Param(f"{model}.{k}", str(v)[:6000]) for k, v in (params or {}).items()],
            metrics=[Metric(f"{model}.{k}", float(v), now, 0) for k, v in (metrics or {}).items() if pd.notna(v)],
        )
        return run_id
    except Exception as exc:  # the tracking server is down, a param was logged before with another value
        logger.warning("MLflow tracking of %s failed: %s", model, exc)
        return None


def headline_metrics(frame: pd.DataFrame) -> dict[str, float]:
    """The metrics of an evaluation frame worth a series in MLflow: every metric at k = 10 on all test
    users (with the NDCG interval), and the CTR test metrics."""
    out: dict[str, float] = {}
    for r in frame[(frame["slice"] == "all") & (frame["k"] == 10)].itertuples():
        out[f"{r.metric}_at_10"] = float(r.value)
        if r.metric == "ndcg" and pd.notna(getattr(r, "ci_low", None)):
            out["ndcg_at_10_ci_low"], out["ndcg_at_10_ci_high"] = float(r.ci_low), float(r.ci_high)
    for r in frame[frame["slice"] == "ctr_test"].itertuples():
        out[f"ctr_{r.metric}"] = float(r.value)
    return out
