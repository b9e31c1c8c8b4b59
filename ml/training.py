"""Training entry points the Dagster assets call: fit a model from the marts, and publish it as a
versioned artifact that carries everything the service needs to serve it on its own."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ml import ann, artifacts, catalog, settings, warehouse
from ml.ctr.deep import CTRModel
from ml.ctr.features import split_examples
from ml.ctr.gbdt import LightGBMCTR
from ml.data import InteractionData, ServingIndex
from ml.recommenders import RECOMMENDERS, Recommender, Scorer
from ml.recommenders.base import check_finite_scores


def train_recommender(
    name: str, params: dict[str, Any], data: InteractionData, log: Callable[[str], None] | None = None
) -> tuple[Recommender, float]:
    """Fit recommender ``name`` with ``params`` on the train window; returns it and the seconds it took."""
    model = RECOMMENDERS[name](**params)
    t0 = time.perf_counter()
    model.fit(data.train, user_features=data.users, item_features=data.items, log=log)
    return model, time.perf_counter() - t0


def click_model(name: str, params: dict[str, Any]) -> CTRModel | LightGBMCTR:
    """An untrained click model of the catalog: a CTR network (dcn, ctr_mlp) or LightGBM (lgbm_ctr)."""
    if name == LightGBMCTR.name:
        return LightGBMCTR(**params)
    return CTRModel(architecture=catalog.CTR_NETWORKS[name], **params)


def click_model_params(name: str) -> type:
    return LightGBMCTR.Params if name == LightGBMCTR.name else CTRModel.Params


def train_click_model(
    name: str, params: dict[str, Any], examples: pd.DataFrame, log: Callable[[str], None] | None = None
) -> tuple[CTRModel | LightGBMCTR, float, dict[str, int]]:
    """Fit click model ``name`` on the train blocks of the CTR examples, early-stopped on the latest;
    returns it, the seconds it took and the example counts."""
    train, validation, _ = split_examples(examples)
    model = click_model(name, params)
    t0 = time.perf_counter()
    model.fit(train, validation, log=log)
    return model, time.perf_counter() - t0, {"train_examples": len(train), "validation_examples": len(validation)}


PROVENANCE = "provenance.json"


def provenance(warehouse_path: str | Path | None = None) -> dict:
    """When a model was trained, on which warehouse, and the data window it saw (the split of the marts
    it read: trained on train + validation, evaluated from ``test_from``)."""
    out: dict = {
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "warehouse": settings.warehouse_label(warehouse_path),
    }
    try:
        row = warehouse.query_df(
            "select split_strategy, min_event_at, split_at, end_at from intermediate.int_split_defined", warehouse_path
        ).iloc[0]
        out["data_window"] = {
            "split_strategy": row.split_strategy,
            "trained_on_events_from": str(row.min_event_at),
            "test_from": str(row.split_at),
            "events_until": str(row.end_at),
        }
    except Exception:  # a model trained outside the pipeline (tests, benches): no window to name
        out["data_window"] = None
    return out


def publish(
    root: str | Path,
    name: str,
    version: str,
    model: Any,
    data: InteractionData | None = None,
    warehouse_path: str | Path | None = None,
) -> Path:
    """Publish ``model`` (anything with ``save(directory)``) as ``<root>/<name>/<version>``; with
    ``data``, the serving index (id mapping, train items to exclude, item attributes) goes with it, and
    ``provenance.json`` says when, from which warehouse and on which data window it was trained; an
    embedding model gets its ANN index (``ann.faiss``, :mod:`ml.ann`). A ranking model whose scores are
    not finite is refused before anything is written."""

    if isinstance(model, Scorer):
        check_finite_scores(model)  # a diverged model never becomes latest
    origin = provenance(warehouse_path)

    def write(directory: Path) -> None:
        model.save(directory)
        index = ann.build_for(model)
        if index is not None:
            index.save(directory)
        if data is not None:
            ServingIndex.from_data(data).save(directory)
        (directory / PROVENANCE).write_text(json.dumps(origin, indent=2))

    return artifacts.publish(root, name, version, write)


def sample_recommendations(model: Scorer, data: InteractionData, n: int = 3, k: int = 5) -> pd.DataFrame:
    """Top-k of the first ``n`` users with history: user_id and 'item_id (category)' cells."""
    users = np.flatnonzero(np.diff(data.train.indptr) > 0)[:n]
    items, _ = model.recommend(users, k, exclude=data.train)
    cells = [", ".join(f"{data.items.item_id[i]} ({data.items.category[i]})" for i in row if i >= 0) for row in items]
    return pd.DataFrame({"user_id": data.users.user_id.to_numpy()[users], "recommended item_id (category)": cells})
