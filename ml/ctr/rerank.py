"""A CTR model reranking another recommender's top-N by predicted click probability. The candidates'
features come from the marts through ``features_for`` (``ml.warehouse.marts.candidate_features``: the
same SQL as the CTR examples), never from a second implementation here."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ml.recommenders.base import Scorer

# the context the pairs are scored in (the context features of ctr_examples): an evening weekday
CONTEXT = {"event_hour": 20, "is_weekend": 0}


class RerankScorer(Scorer):
    """Reranks ``base``'s top-``n_candidates`` (train items excluded) by a click model's probability;
    ``features_for(pairs)`` gives the CTR features of (user_id, item_id, event_hour, is_weekend) pairs."""

    name = "rerank"

    def __init__(
        self,
        base: Scorer,
        ctr,
        user_ids: np.ndarray,
        item_ids: np.ndarray,
        train: sp.csr_matrix,
        features_for: Callable[[pd.DataFrame], pd.DataFrame],
        n_candidates: int = 50,
    ) -> None:
        self.base, self.ctr, self.train, self.features_for = base, ctr, train, features_for
        self.user_ids, self.item_ids = np.asarray(user_ids), np.asarray(item_ids)
        self.n_candidates = n_candidates
        self.n_users, self.n_items = base.n_users, base.n_items

    def score_users(self, user_indices: np.ndarray) -> np.ndarray:
        cand, _ = self.base.recommend(user_indices, self.n_candidates, exclude=self.train)
        rows = np.repeat(np.arange(len(user_indices)), cand.shape[1])
        valid = cand.ravel() >= 0
        users, items = np.asarray(user_indices)[rows[valid]], cand.ravel()[valid]
        pairs = pd.DataFrame({"user_id": self.user_ids[users], "item_id": self.item_ids[items], **CONTEXT})
        scores = np.full((len(user_indices), self.n_items), -np.inf, dtype=np.float32)
        if len(pairs):
            scores[rows[valid], items] = self.ctr.predict_proba(self.features_for(pairs))
        return scores
