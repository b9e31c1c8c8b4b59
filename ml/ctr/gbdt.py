"""LightGBM binary CTR model on the ctr_examples features."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd

from ml import threads
from ml.artifacts import loader, read_params, write_params
from ml.feature_sets import FeatureSet
from ml.hyperparams import param
from ml.interactions import as_text, sampled


@dataclasses.dataclass(frozen=True)
class LightGBMCTRParams:
    n_estimators: int = param(500, "maximum boosting rounds (early stopping on validation AUC)")
    learning_rate: float = param(0.05, "LightGBM learning rate")
    num_leaves: int = param(31, "leaves per tree")
    min_child_samples: int = param(50, "minimum examples per leaf")
    max_train_rows: int = param(
        500_000, "train examples at most: a seeded sample of them on larger data (0: all); bounds the boosting time"
    )
    warm_trees: int = param(100, "boosting rounds at most added to the previous version when warm-started (ml.warm_start)")
    seed: int = param(42, "LightGBM seed")


@loader("lgbm_ctr")
class LightGBMCTR:
    """Gradient-boosted binary CTR model on the declared ctr_examples features it is fit with
    (categoricals as LightGBM categories), early stopping on the validation block's AUC."""

    name = "lgbm_ctr"
    Params = LightGBMCTRParams
    booster: lgb.Booster  # once fit or loaded

    def __init__(self, **params: Any) -> None:
        self.params: dict[str, Any] = dataclasses.asdict(LightGBMCTRParams(**params))

    def input_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The model's input: the numeric features as floats, the categorical ones as LightGBM categories."""
        out = frame[self.features.numeric].astype(float).copy()
        for col in self.features.categorical:
            out[col] = pd.Categorical(as_text(frame[col]), categories=self.categories[col])
        return out

    def fit(
        self,
        train: pd.DataFrame,
        validation: pd.DataFrame,
        features: FeatureSet,
        log: Callable[[str], None] | None = None,
        start: LightGBMCTR | None = None,
    ) -> LightGBMCTR:
        """Boost on ``train``, early-stopped on ``validation``'s AUC; from ``start`` (the previous version,
        same parameters and features) when given: at most ``warm_trees`` trees more on its trees (LightGBM's
        ``init_model``), with its categories, so that its splits keep their meaning."""
        p = self.params
        self.features = features
        if start is None:
            self.categories = {c: sorted(as_text(train[c]).unique()) for c in features.categorical}
        else:
            self.categories = start.categories
        self.model = lgb.LGBMClassifier(
            n_estimators=p["warm_trees"] if start else p["n_estimators"],
            learning_rate=p["learning_rate"],
            num_leaves=p["num_leaves"],
            min_child_samples=p["min_child_samples"],
            random_state=p["seed"],
            n_jobs=threads.budget(),
            deterministic=True,
            force_row_wise=True,
            verbose=-1,
        )
        train = sampled(train, p["max_train_rows"], p["seed"])
        self.model.fit(
            self.input_frame(train),
            train["clicked"],
            eval_X=(self.input_frame(validation),),
            eval_y=(validation["clicked"],),
            eval_metric="auc",
            callbacks=[lgb.early_stopping(30, verbose=False)],
            init_model=start.booster if start is not None else None,
        )
        self.booster = self.model.booster_
        if log:
            auc = next(iter(self.model.best_score_.values()))["auc"]
            log(f"lgbm_ctr: best iteration {self.model.best_iteration_}, validation AUC {auc:.4f}")
        return self

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.booster.predict(self.input_frame(frame)), dtype=np.float64)

    def save(self, directory: str | Path) -> Path:
        directory = write_params(directory, self.name, self.params, categories=self.categories, features=self.features.to_dict())
        self.booster.save_model(str(directory / "model.txt"))
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> LightGBMCTR:
        meta = read_params(directory, cls.name)
        model = cls(**meta["params"])
        model.categories = meta["categories"]
        model.features = FeatureSet.from_dict(meta["features"])
        model.booster = lgb.Booster(model_file=str(Path(directory) / "model.txt"))
        return model
