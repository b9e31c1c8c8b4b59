"""Hyperparameter selection on the validation window, with Optuna's TPE sampler (seeded).

Every candidate is fit on the train split and scored (NDCG@10, users without history served by a
popularity model fit on the same split) on the validation split: :meth:`InteractionData.tuning`.
The test window is never read here. The first trial is always the hand-picked default. The best
trial replaces the defaults only when choosing it gains significantly on users it was not chosen on:
cross-fitted over two folds of the validation users, five draws (paired t-test,
``ml.evaluation.selection``), so a gain inside the noise, or the luck of the users that chose it,
keeps the defaults; each draw's choices are reported as the selection's stability. The training
assets then refit the chosen parameters on the whole train window (train + validation).

- ALS, item-item and RP3beta: TPE over the search space below, ``n_trials`` fits.
- EASE: its regularisation path, every ``l2`` of ``EASE_L2_PATH`` for both weightings, one
  factorisation per weighting (``RegularisationPath``).
- hybrid: the blend weight of ALS and content scores (the ALS part keeps its defaults).
- two-tower and SASRec: TPE over learning rate, temperature (dropout) and size; each trial trains up
  to ``epochs``, is scored after every epoch and, past half of them, stops after ``EPOCH_PATIENCE``
  epochs without a better one (a network can plateau early, then take off), so the number of epochs
  is chosen on validation too.
- two-stage: whether EASE adds candidates, and the LightGBM ranker's parameters, TPE over the ranker
  frames (computed once per candidate set) of the windows inside the train period; scored by the
  NDCG@10 of the ranked lists on its validation window (the last ``label_days`` before the test
  window) against every item the users chose there, so that candidate sets compare fairly.
"""

from __future__ import annotations

import dataclasses
import threading
from typing import Any

import numpy as np
import optuna
import pandas as pd

from ml.evaluation.protocol import headline_users
from ml.feature_sets import FeatureSet
from ml.interactions import InteractionData
from ml.recommenders import RECOMMENDERS, PopularityRecommender
from ml.recommenders.ease import RegularisationPath
from ml.tuning.spaces import (
    DEFAULT_TRIALS,
    EPOCH_PATIENCE,
    EPOCH_TUNED,
    GRIDS,
    MAX_ITEMS,
    MAX_USERS,
    RETUNE_AFTER_DAYS,
    REUSE_BELOW_PSI,
    SPACES,
    TUNED,
    changed,
    default_params,
)
from ml.tuning.study import TuningResult, run_study
from ml.two_stage.features import Attributes
from ml.two_stage.ranker import TwoStageParams, ranker_frames, train_ranker, validation_ndcg_users

__all__ = [
    "DEFAULT_TRIALS",
    "GRIDS",
    "MAX_ITEMS",
    "MAX_USERS",
    "RETUNE_AFTER_DAYS",
    "REUSE_BELOW_PSI",
    "SPACES",
    "TUNED",
    "TuningResult",
    "changed",
    "default_params",
    "run_study",
    "tune_ranker",
    "tune_recommender",
]


def tune_recommender(
    name: str,
    data: InteractionData,
    features: dict[str, FeatureSet],
    n_trials: int,
    seed: int = 0,
    log=None,
    max_users: int | None = MAX_USERS,
    max_items: int | None = MAX_ITEMS,
) -> TuningResult:
    """Choose ``name``'s hyperparameters on the validation window (see the module docstring), on a
    sample of at most ``max_users`` users and ``max_items`` items (:meth:`InteractionData.tuning`)."""
    if name not in SPACES or name == "two_stage":
        raise ValueError(f"no search space for {name}; tunable recommenders: {[n for n in TUNED if n != 'two_stage']}")
    view = data.tuning(max_users, max_items, seed)
    sample = "all the data"
    if view.train.nnz + view.test.nnz < data.fit.nnz + data.validation.nnz:  # type: ignore[union-attr]
        users, items = view.sample_size()
        sample = f"a sample: {users:,} of {data.n_users:,} users, {items:,} of {data.n_items:,} items"
        if log:
            log(f"tuning {name} on {sample}")
    fallback = PopularityRecommender().fit(view.train)
    side = {"user_features": view.users, "item_features": view.items, "features": features}
    if RECOMMENDERS[name].reads_sequences:
        side["sequences"] = view.sequences

    paths: dict[str, RegularisationPath] = {}  # EASE: one factorisation per weighting serves every l2

    def objective(params: dict[str, Any], trial: optuna.Trial) -> pd.Series:
        if name == "ease":
            key = params["weighting"]
            if key not in paths:
                paths[key] = RegularisationPath(view.train, **params)
            return headline_users(paths[key].model(params["l2"]), view, fallback)
        model = RECOMMENDERS[name](**params)
        if name not in EPOCH_TUNED:
            model.fit(view.train, **side)
            return headline_users(model, view, fallback)
        per_epoch: list[pd.Series] = []

        def scored(fitted) -> bool:  # True: stop, past half the epochs and no better one for EPOCH_PATIENCE
            per_epoch.append(headline_users(fitted, view, fallback))
            stale = len(per_epoch) - 1 - int(np.nanargmax([e.mean() for e in per_epoch]))
            return 2 * len(per_epoch) >= params["epochs"] and stale >= EPOCH_PATIENCE

        model.fit(view.train, on_epoch=scored, **side)
        best = int(np.nanargmax([e.mean() for e in per_epoch]))
        trial.set_user_attr("params", {"epochs": best + 1})
        return per_epoch[best]

    return dataclasses.replace(run_study(name, objective, n_trials, seed, log), sample=sample)


def tune_ranker(
    data: InteractionData, windows, attrs: Attributes, n_trials: int, seed: int = 0, log=None, lanes: int = 1
) -> TuningResult:
    """Choose the two-stage ranker's LightGBM parameters on its validation window; ``lanes`` trials at a
    time while they are independent (LightGBM is seeded per model and thread-safe: the same choice)."""
    frames: dict[bool, tuple] = {}  # the candidate frames of each candidate set, computed once
    computing = {ease: threading.Lock() for ease in (False, True)}  # the two sets are computed side by side

    def objective(params: dict[str, Any], trial: optuna.Trial) -> pd.Series:
        p = TwoStageParams(**params)
        with computing[p.ease_candidates]:
            if p.ease_candidates not in frames:
                frames[p.ease_candidates] = ranker_frames(data, windows, p, attrs)
        train, val = frames[p.ease_candidates]
        return validation_ndcg_users(train_ranker(train, val, p, attrs.features), val, windows[1])

    return run_study("two_stage", objective, n_trials, seed, log, lanes)
