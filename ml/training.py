"""Training entry points the Dagster assets call: fit a recommender on the interaction data or a click
model on the CTR examples (``ml.serving.publish`` then publishes it)."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from ml import models, warm_start
from ml.ctr.deep import CTRModel
from ml.ctr.features import split_examples
from ml.ctr.gbdt import LightGBMCTR
from ml.feature_checks import degenerate
from ml.feature_sets import FeatureSet
from ml.interactions import InteractionData
from ml.recommenders import RECOMMENDERS, Recommender, Scorer


def usable(features: dict[str, FeatureSet], frames: dict[str, pd.DataFrame]) -> tuple[dict[str, FeatureSet], dict[str, str]]:
    """The declared features without those that carry nothing in their mart's frame (all missing or
    constant): what the models take, and what was left out with the reason."""
    kept, dropped = dict(features), {}
    for mart, frame in frames.items():
        if mart in features:
            left_out = degenerate(frame, features[mart])
            kept[mart] = features[mart].without(left_out)
            dropped.update({f"{mart}.{name}": why for name, why in left_out.items()})
    return kept, dropped


def train_recommender(
    name: str,
    params: dict[str, Any],
    data: InteractionData,
    features: dict[str, FeatureSet],
    log: Callable[[str], None] | None = None,
) -> tuple[Recommender, float, dict[str, str]]:
    """Fit recommender ``name`` with ``params`` on the train window (models with features take the ones
    the marts declare, ``features`` by mart, but those that carry nothing); returns it, the seconds it
    took and the declared features it left out, with why."""
    features, dropped = usable(features, {"user_features": data.users, "item_features": data.items})
    model = RECOMMENDERS[name](**params)
    t0 = time.perf_counter()
    side = {"sequences": data.sequences} if model.reads_sequences else {}
    model.fit(data.train, user_features=data.users, item_features=data.items, features=features, log=log, **side)
    return model, time.perf_counter() - t0, dropped


def click_model(name: str, params: dict[str, Any]) -> CTRModel | LightGBMCTR:
    """An untrained click model of the model list: a CTR network (dcn, ctr_mlp) or LightGBM (lgbm_ctr)."""
    if name == LightGBMCTR.name:
        return LightGBMCTR(**params)
    return CTRModel(architecture=models.CTR_NETWORKS[name], **params)


def click_model_params(name: str) -> type:
    return LightGBMCTR.Params if name == LightGBMCTR.name else CTRModel.Params


def train_click_model(
    name: str,
    params: dict[str, Any],
    examples: pd.DataFrame,
    features: FeatureSet,
    log: Callable[[str], None] | None = None,
    previous: warm_start.Previous | None = None,
    warm: bool = False,
    check_days: float = warm_start.CHECK_DAYS,
    missing: str = "",
) -> tuple[CTRModel | LightGBMCTR, float, dict[str, Any]]:
    """Fit click model ``name`` with the declared ctr_examples ``features`` it may use (but those that
    carry nothing in the train blocks) on the train blocks, early-stopped on the latest: from scratch, or,
    with ``warm``, from ``previous`` (its last version) as ``ml.warm_start.plan`` says, checked against a
    cold fit on schedule (``missing``: why there is no ``previous``). Returns the model to publish, the
    seconds it took, and the example counts, the features left out, how it was fit and why, the guard's
    state and, on a check day, the check."""
    train, validation, _ = split_examples(examples)
    mine = features.for_model(name)
    dropped = degenerate(train, mine)
    usable = mine.without(dropped)
    chosen = warm_start.plan(previous, click_model(name, params).params, usable.fingerprint, warm, check_days, missing=missing)
    t0 = time.perf_counter()
    fitted = {}
    if chosen.mode != "warm":
        fitted["cold"] = click_model(name, params).fit(train, validation, usable, log=log)
    if chosen.mode != "cold":
        fitted["warm"] = click_model(name, params).fit(train, validation, usable, log=log, start=previous.model)  # type: ignore[union-attr]
    found = None
    if len(fitted) == 2:
        keys, labels = validation["event_id"].to_numpy(), validation["clicked"].to_numpy()
        found = warm_start.check(keys, labels, fitted["warm"].predict_proba(validation), fitted["cold"].predict_proba(validation))
    model = fitted["warm" if chosen.mode == "warm" or (found and found.keep_warm) else "cold"]
    info = {
        "train_examples": len(train),
        "validation_examples": len(validation),
        "left_out_features": dropped,
        "fit": chosen.mode if found is None else f"both, published {'warm' if found.keep_warm else 'cold'}",
        "fit_reason": chosen.why,
        "warm_start_state": warm_start.state_after(chosen, previous, found),
        **({"warm_check": dataclasses.asdict(found)} if found else {}),
    }
    return model, time.perf_counter() - t0, info


def sample_recommendations(model: Scorer, data: InteractionData, n: int = 3, k: int = 5) -> pd.DataFrame:
    """Top-k of the first ``n`` users with history: user_id and 'item_id (category)' cells."""
    users = np.flatnonzero(np.diff(data.train.indptr) > 0)[:n]
    items, _ = model.recommend(users, k, exclude=data.train)
    cells = [", ".join(f"{data.items.item_id[i]} ({data.items.category[i]})" for i in row if i >= 0) for row in items]
    return pd.DataFrame({"user_id": data.users.user_id.to_numpy()[users], "recommended item_id (category)": cells})
