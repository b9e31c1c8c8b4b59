"""Hyperparameter selection on the validation window, with Optuna's TPE sampler (seeded).

Every candidate is fit on the train split and scored (NDCG@10, users without history served by a
popularity model fit on the same split) on the validation split: :meth:`InteractionData.tuning`.
The test window is never read here. The first trial is always the hand-picked default, and the best
trial replaces it only when it is significantly better on the same validation users (paired t-test,
``ml.uncertainty``): a gain inside the noise keeps the defaults. The training assets then refit the
chosen parameters on the whole train window (train + validation).

- ALS, item-item and EASE: TPE over the search space below, ``n_trials`` fits.
- hybrid: the blend weight of ALS and content scores (the ALS part keeps its defaults).
- two-tower: TPE over learning rate, temperature and size; each trial trains up to ``epochs`` and
  is scored after every epoch, so the number of epochs is chosen on validation too.
- two-stage: whether EASE adds candidates, and the LightGBM ranker's parameters, TPE over the ranker
  frames (computed once per candidate set) of the windows inside the train period; scored by the
  NDCG@10 of the ranked lists on its validation window (the last ``label_days`` before the test
  window) against every item the users chose there, so that candidate sets compare fairly.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import optuna
import pandas as pd

from ml.evaluation import uncertainty
from ml.evaluation.protocol import headline_users
from ml.feature_sets import FeatureSet
from ml.interactions import InteractionData
from ml.recommenders import RECOMMENDERS, PopularityRecommender
from ml.two_stage.features import Attributes
from ml.two_stage.ranker import TwoStageParams, ranker_frames, train_ranker, validation_ndcg_users

optuna.logging.set_verbosity(optuna.logging.WARNING)

Suggest = Callable[[optuna.Trial, str], Any]


def choice(*values: Any) -> Suggest:
    return lambda trial, name: trial.suggest_categorical(name, list(values))


def log_uniform(low: float, high: float) -> Suggest:
    return lambda trial, name: trial.suggest_float(name, low, high, log=True)


def uniform(low: float, high: float) -> Suggest:
    return lambda trial, name: trial.suggest_float(name, low, high)


def log_int(low: int, high: int) -> Suggest:
    return lambda trial, name: trial.suggest_int(name, low, high, log=True)


def int_range(low: int, high: int) -> Suggest:
    return lambda trial, name: trial.suggest_int(name, low, high)


# model -> hyperparameter -> how TPE samples it (the names are the models' Params fields)
SPACES: dict[str, dict[str, Suggest]] = {
    "als": {
        "factors": choice(16, 32, 64, 128),
        "regularization": log_uniform(0.01, 100.0),
        "alpha": log_uniform(0.1, 50.0),
        "iterations": int_range(5, 30),
    },
    "item_item": {"k_neighbors": log_int(10, 500), "shrinkage": uniform(0.0, 200.0), "weighting": choice("log", "binary", "raw")},
    "ease": {"l2": log_uniform(1.0, 5000.0), "weighting": choice("binary", "log")},
    "rp3beta": {"alpha": uniform(0.2, 1.5), "beta": uniform(0.0, 1.0), "k_neighbors": log_int(10, 500)},
    "hybrid": {"alpha": uniform(0.0, 1.0)},
    "two_tower": {
        "learning_rate": log_uniform(1e-3, 1e-2),
        "temperature": log_uniform(0.03, 0.5),
        "embedding_dim": choice(16, 32, 64),
    },
    "two_stage": {
        "ease_candidates": choice(False, True),
        "num_leaves": log_int(7, 63),
        "min_child_samples": log_int(20, 500),
        "learning_rate": log_uniform(0.01, 0.1),
    },
}
TUNED = tuple(SPACES)
# the sample selection runs on when the data is larger (InteractionData.tuning): bounds a trial's cost
MAX_USERS, MAX_ITEMS = 5_000, 3_000
DEFAULT_TRIALS = {"als": 30, "item_item": 20, "ease": 15, "rp3beta": 20, "two_tower": 3, "hybrid": 8, "two_stage": 8}


@dataclass
class TuningResult:
    model: str
    params: dict[str, Any]  # every hyperparameter: the defaults with the chosen values
    value: float  # validation NDCG@10 of the chosen parameters
    default_value: float  # ... and of the hand-picked defaults (trial 0)
    trials: pd.DataFrame  # one row per trial: number, the searched parameters, value, seconds
    seconds: float
    best_vs_default: uncertainty.Comparison | None = None  # the best trial against trial 0, same users
    adopted: bool = False  # the best trial replaced the defaults
    sample: str = "all the data"  # what the trials were fit and scored on

    @property
    def decision(self) -> str:
        c = self.best_vs_default
        if c is None:
            return "the defaults were the best trial"
        verdict = "adopted" if self.adopted else "not significant: kept the defaults"
        return f"best trial {c.diff:+.4f} [{c.ci_low:+.4f}, {c.ci_high:+.4f}] vs the defaults, p = {c.p_value:.2g}: {verdict}"

    @property
    def tuned(self) -> dict[str, Any]:
        """Only the parameters that differ from the defaults."""
        defaults = default_params(self.model)
        return {k: v for k, v in self.params.items() if defaults.get(k) != v}


def default_params(name: str) -> dict[str, Any]:
    params_cls = TwoStageParams if name == "two_stage" else RECOMMENDERS[name].Params
    return dataclasses.asdict(params_cls())


def study(seed: int) -> optuna.Study:
    return optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed))


def run_study(
    name: str, objective: Callable[[dict[str, Any], optuna.Trial], pd.Series], n_trials: int, seed: int, log=None
) -> TuningResult:
    """Trial 0 = the defaults (restricted to the searched names), then TPE; ``objective(params, trial)``
    returns the validation NDCG@10 per user and may record chosen values in ``trial.user_attrs['params']``.
    The best trial is adopted only when significantly better than trial 0 on the same users."""
    if n_trials < 1:
        raise ValueError(f"n_trials must be at least 1 (trial 0 scores the defaults), got {n_trials}")
    defaults = default_params(name)
    searched = list(SPACES[name])
    s = study(seed)
    s.enqueue_trial({k: defaults[k] for k in searched})
    t0 = time.perf_counter()

    per_user: dict[int, pd.Series] = {}  # trial 0's and the best trial's, for the paired test

    def wrapped(trial: optuna.Trial) -> float:
        started = time.perf_counter()
        params = {**defaults, **{p: suggest(trial, p) for p, suggest in SPACES[name].items()}}
        users = objective(params, trial)
        value = float(users.mean()) if len(users) else float("nan")
        if trial.number == 0 or value > max((t.value for t in trial.study.trials if t.value is not None), default=-1.0):
            per_user[trial.number] = users
        trial.set_user_attr("seconds", time.perf_counter() - started)
        trial.set_user_attr("params", {**params, **trial.user_attrs.get("params", {})})
        if log:
            log(f"tuning {name} trial {trial.number + 1}/{n_trials}: validation ndcg@10 {value:.4f}")
        return value

    s.optimize(wrapped, n_trials=n_trials)
    best, default = s.best_trial, s.trials[0]
    comparison = None
    if best.number != 0:
        comparison = uncertainty.paired_comparison(per_user[best.number], per_user[0])
        if not (comparison.significant and comparison.diff > 0):
            best = default
    rows = [
        {"trial": t.number, **t.user_attrs["params"], "validation_ndcg@10": t.value, "seconds": t.user_attrs["seconds"]}
        for t in s.trials
    ]
    keep = ["trial", *searched, *(["epochs"] if name == "two_tower" else []), "validation_ndcg@10", "seconds"]
    return TuningResult(
        model=name,
        params=best.user_attrs["params"],
        value=float(best.value),  # type: ignore[arg-type]
        default_value=float(default.value),  # type: ignore[arg-type]
        trials=pd.DataFrame(rows)[keep],
        seconds=time.perf_counter() - t0,
        best_vs_default=comparison,
        adopted=best.number != 0,
    )


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

    def objective(params: dict[str, Any], trial: optuna.Trial) -> pd.Series:
        model = RECOMMENDERS[name](**params)
        if name != "two_tower":
            model.fit(view.train, **side)
            return headline_users(model, view, fallback)
        per_epoch: list[pd.Series] = []
        model.fit(view.train, on_epoch=lambda m: per_epoch.append(headline_users(m, view, fallback)), **side)  # type: ignore[call-arg]
        best = int(np.nanargmax([e.mean() for e in per_epoch]))
        trial.set_user_attr("params", {"epochs": best + 1})
        return per_epoch[best]

    return dataclasses.replace(run_study(name, objective, n_trials, seed, log), sample=sample)


def tune_ranker(data: InteractionData, windows, attrs: Attributes, n_trials: int, seed: int = 0, log=None) -> TuningResult:
    """Choose the two-stage ranker's LightGBM parameters on its validation window."""
    frames: dict[bool, tuple] = {}  # the candidate frames of each candidate set, computed once

    def objective(params: dict[str, Any], trial: optuna.Trial) -> pd.Series:
        p = TwoStageParams(**params)
        if p.ease_candidates not in frames:
            frames[p.ease_candidates] = ranker_frames(data, windows, p, attrs)
        train, val = frames[p.ease_candidates]
        return validation_ndcg_users(train_ranker(train, val, p, attrs.features), val, windows[1])

    return run_study("two_stage", objective, n_trials, seed, log)
