"""Popularity baseline: every user gets the items with the most train users (weight breaks ties)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ml.artifacts import loader
from ml.recommenders.base import FoldIn, Recommender


@loader("popularity")
class PopularityRecommender(Recommender, FoldIn):
    name = "popularity"

    def fit(self, interactions: sp.csr_matrix, **side) -> PopularityRecommender:
        users_per_item = np.asarray((interactions > 0).sum(axis=0)).ravel().astype(np.float64)
        weight = np.asarray(interactions.sum(axis=0)).ravel()
        # number of users first; total weight as a fractional tie-breaker
        self.item_scores = users_per_item + weight / (weight.max() + 1.0) if weight.size else users_per_item
        self.n_users, self.n_items = interactions.shape
        return self

    def score_users(self, user_indices: np.ndarray) -> np.ndarray:
        return np.broadcast_to(self.item_scores.astype(np.float32), (len(user_indices), self.n_items)).copy()

    def score_histories(self, histories: sp.csr_matrix) -> np.ndarray:
        return self.score_users(np.zeros(histories.shape[0], dtype=np.int64))  # the same list for everyone

    def _arrays(self):
        return {"item_scores": self.item_scores}

    def _restore(self, arrays):
        self.item_scores = arrays["item_scores"]
