"""What tuning searches: each tuned model's hyperparameters and how the sampler draws them, the
trial budgets, and the defaults every search starts from (trial 0)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import optuna

from ml.recommenders import RECOMMENDERS
from ml.two_stage.ranker import TwoStageParams

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


# EASE walks a regularisation path (every value, both weightings) instead of sampling it: one
# factorisation per weighting serves every l2 (ml.recommenders.ease.RegularisationPath)
EASE_L2_PATH = (2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0, 5000.0)
GRIDS: dict[str, dict[str, tuple]] = {"ease": {"l2": EASE_L2_PATH, "weighting": ("binary", "log")}}  # every point, in order

# model -> hyperparameter -> how TPE samples it (the names are the models' Params fields)
SPACES: dict[str, dict[str, Suggest]] = {
    "als": {
        "factors": choice(16, 32, 64, 128),
        "regularization": log_uniform(0.01, 100.0),
        "alpha": log_uniform(0.1, 50.0),
        "iterations": int_range(5, 30),
    },
    "item_item": {"k_neighbors": log_int(10, 500), "shrinkage": uniform(0.0, 200.0), "weighting": choice("log", "binary", "raw")},
    "ease": {name: choice(*values) for name, values in GRIDS["ease"].items()},
    "rp3beta": {"alpha": uniform(0.2, 1.5), "beta": uniform(0.0, 1.0), "k_neighbors": log_int(10, 500)},
    "hybrid": {"alpha": uniform(0.0, 1.0)},
    "two_tower": {
        "learning_rate": log_uniform(1e-3, 1e-2),
        "temperature": log_uniform(0.03, 0.5),
        "embedding_dim": choice(16, 32, 64),
    },
    "sasrec": {"learning_rate": log_uniform(3e-4, 3e-3), "dropout": uniform(0.1, 0.5), "embedding_dim": choice(32, 64)},
    "two_stage": {
        "ease_candidates": choice(False, True),
        "num_leaves": log_int(7, 63),
        "min_child_samples": log_int(20, 500),
        "learning_rate": log_uniform(0.01, 0.1),
    },
}
TUNED = tuple(SPACES)
EPOCH_TUNED = ("two_tower", "sasrec")  # trained once per trial and scored after every epoch: the epochs are chosen too
EPOCH_PATIENCE = 3  # past half its epochs, a trial of those stops after this many without a better score
# the sample selection runs on when the data is larger (InteractionData.tuning): bounds a trial's cost
MAX_USERS, MAX_ITEMS = 5_000, 3_000
# a choice may be reused while the data it was tuned on has not drifted (ml.tuning.drift), for at most a
# week. Off by default: at 10M events one more day's data, at PSI 0.014, flipped two adoption decisions
# (the two-stage ranker's, EASE's) and two networks' epochs, and the reused choices were significantly
# worse on the test window than a fresh tuning (two-stage -0.0040, SASRec -0.0032); 0.1 turns it on
REUSE_BELOW_PSI, RETUNE_AFTER_DAYS = 0.0, 7.0
DEFAULT_TRIALS = {"als": 30, "item_item": 20, "ease": 22, "rp3beta": 20, "two_tower": 3, "sasrec": 2, "hybrid": 8, "two_stage": 8}


def default_params(name: str) -> dict[str, Any]:
    params_cls = TwoStageParams if name == "two_stage" else RECOMMENDERS[name].Params
    return dataclasses.asdict(params_cls())


def changed(name: str, params: dict[str, Any]) -> dict[str, Any]:
    defaults = default_params(name)
    return {k: v for k, v in params.items() if defaults.get(k) != v}
