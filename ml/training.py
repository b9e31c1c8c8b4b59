"""Training entry points the Dagster assets call: fit a recommender on the interaction data or a click
model on the CTR examples (``ml.serving.publish`` then publishes it)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from ml import models
from ml.ctr.deep import CTRModel
from ml.ctr.features import split_examples
from ml.ctr.gbdt import LightGBMCTR
from ml.feature_sets import FeatureSet
from ml.interactions import InteractionData
from ml.recommenders import RECOMMENDERS, Recommender, Scorer


def train_recommender(
    name: str,
    params: dict[str, Any],
    data: InteractionData,
    features: dict[str, FeatureSet],
    log: Callable[[str], None] | None = None,
) -> tuple[Recommender, float]:
    """Fit recommender ``name`` with ``params`` on the train window (models with features take the ones
    the marts declare, ``features`` by mart); returns it and the seconds it took."""
    model = RECOMMENDERS[name](**params)
    t0 = time.perf_counter()
    model.fit(data.train, user_features=data.users, item_features=data.items, features=features, log=log)
    return model, time.perf_counter() - t0


def click_model(name: str, params: dict[str, Any]) -> CTRModel | LightGBMCTR:
    """An untrained click model of the model list: a CTR network (dcn, ctr_mlp) or LightGBM (lgbm_ctr)."""
    if name == LightGBMCTR.name:
        return LightGBMCTR(**params)
    return CTRModel(architecture=models.CTR_NETWORKS[name], **params)


def click_model_params(name: str) -> type:
    return LightGBMCTR.Params if name == LightGBMCTR.name else CTRModel.Params


def train_click_model(
    name: str, params: dict[str, Any], examples: pd.DataFrame, features: FeatureSet, log: Callable[[str], None] | None = None
) -> tuple[CTRModel | LightGBMCTR, float, dict[str, int]]:
    """Fit click model ``name`` with the declared ctr_examples ``features`` it may use on the train blocks
    of the CTR examples, early-stopped on the latest; returns it, the seconds it took and the example counts."""
    train, validation, _ = split_examples(examples)
    model = click_model(name, params)
    t0 = time.perf_counter()
    model.fit(train, validation, features.for_model(name), log=log)
    return model, time.perf_counter() - t0, {"train_examples": len(train), "validation_examples": len(validation)}


def sample_recommendations(model: Scorer, data: InteractionData, n: int = 3, k: int = 5) -> pd.DataFrame:
    """Top-k of the first ``n`` users with history: user_id and 'item_id (category)' cells."""
    users = np.flatnonzero(np.diff(data.train.indptr) > 0)[:n]
    items, _ = model.recommend(users, k, exclude=data.train)
    cells = [", ".join(f"{data.items.item_id[i]} ({data.items.category[i]})" for i in row if i >= 0) for row in items]
    return pd.DataFrame({"user_id": data.users.user_id.to_numpy()[users], "recommended item_id (category)": cells})
