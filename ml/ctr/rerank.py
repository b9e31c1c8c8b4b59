"""A CTR model reranking another recommender's top-N by predicted click probability."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ml import artifacts
from ml.ctr.deep import CTRModel
from ml.ctr.features import pair_features
from ml.recommenders import Recommender, Scorer  # the package: every recommender's loader, for base/


@artifacts.loader("rerank")
class RerankScorer(Scorer):
    """Reranks ``base``'s top-``n_candidates`` (train items excluded) by a CTR model's click
    probability, with features from the marts as of the split (:func:`ml.ctr.features.pair_features`)."""

    name = "rerank"

    def __init__(
        self,
        base: Recommender,
        ctr: CTRModel,
        users: pd.DataFrame,
        items: pd.DataFrame,
        train: sp.csr_matrix,
        n_candidates: int = 50,
    ) -> None:
        self.base, self.ctr, self.users, self.items, self.train = base, ctr, users, items, train
        self.n_candidates = n_candidates
        self.n_users, self.n_items = base.n_users, base.n_items

    def score_users(self, user_indices: np.ndarray) -> np.ndarray:
        cand, _ = self.base.recommend(user_indices, self.n_candidates, exclude=self.train)
        rows = np.repeat(np.arange(len(user_indices)), cand.shape[1])
        valid = cand.ravel() >= 0
        probs = self.ctr.predict_proba(
            pair_features(self.users, self.items, self.train, np.asarray(user_indices)[rows[valid]], cand.ravel()[valid])
        )
        scores = np.full((len(user_indices), self.n_items), -np.inf, dtype=np.float32)
        scores[rows[valid], cand.ravel()[valid]] = probs
        return scores

    def save(self, directory: str | Path) -> Path:
        directory = artifacts.write_params(directory, self.name, {"n_candidates": self.n_candidates})
        self.base.save(directory / "base")
        self.ctr.save(directory / "ctr")
        self.users.to_parquet(directory / "users.parquet", index=False)
        self.items.to_parquet(directory / "items.parquet", index=False)
        artifacts.write_arrays(directory / "arrays.npz", artifacts.sparse_to_arrays("train", self.train))
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> RerankScorer:
        directory = Path(directory)
        params = artifacts.read_params(directory, cls.name)["params"]
        base, ctr = artifacts.load_model(directory / "base"), artifacts.load_model(directory / "ctr")
        if not isinstance(base, Recommender) or not isinstance(ctr, CTRModel):
            raise ValueError(f"{directory}: a rerank artifact holds a recommender under base/ and a CTR network under ctr/")
        return cls(
            base,
            ctr,
            pd.read_parquet(directory / "users.parquet"),
            pd.read_parquet(directory / "items.parquet"),
            artifacts.sparse_from_arrays("train", artifacts.read_arrays(directory / "arrays.npz")),
            **params,
        )
