"""Offline evaluation protocol: train window -> test window, seen items excluded, per slice.

Relevant items of a user = items with positive weight in the test window that the user had not
interacted with in the train window. Users with no relevant item are not evaluated. Slices:

- ``all``: every evaluated user;
- ``warm_users`` / ``cold_users``: users with / without train history; cold users are served by
  the fallback model (popularity), as the service does, unless the model embeds users from their
  features (two-tower);
- ``new_items``: relevance restricted to items released in the test window.

Beyond-accuracy metrics (coverage, intra-list diversity over item categories, novelty) are
reported on ``all``. :class:`OracleRecommender` ranks by the generator's true affinity (upper bound).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ml import metrics as M
from ml.data import InteractionData
from ml.models.base import Recommender
from ml.synthetic import GroundTruth

K_VALUES = (10, 20)
SLICES = ("all", "warm_users", "cold_users", "new_items")


def relevant_items(data: InteractionData) -> sp.csr_matrix:
    test = (data.test > 0).astype(np.float32)
    seen = (data.train > 0).astype(np.float32)
    rel = test - test.multiply(seen)
    rel.eliminate_zeros()
    return sp.csr_matrix(rel)


def recommend_with_fallback(model: Recommender, fallback: Recommender | None, users: np.ndarray, k: int,
                            train: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Top-k for ``users`` excluding train items; users without train history get ``fallback``'s list.

    Models that embed users from features (``cold_start_from_features``) serve cold users themselves.
    Returns (items, scores, cold) where ``cold`` marks users without train history."""
    cold = np.diff(train.indptr)[users] == 0
    use_fallback = cold & (fallback is not None) & (not model.cold_start_from_features)
    items = np.full((len(users), k), -1, dtype=np.int64)
    scores = np.full((len(users), k), -np.inf, dtype=np.float32)
    if (~use_fallback).any():
        items[~use_fallback], scores[~use_fallback] = model.recommend(users[~use_fallback], k, exclude=train)
    if use_fallback.any():
        items[use_fallback], scores[use_fallback] = fallback.recommend(users[use_fallback], k, exclude=train)
    return items, scores, cold


def ranking_rows(h: np.ndarray, n_rel: np.ndarray, k_values: Sequence[int]) -> list[tuple[str, int, float]]:
    rows = []
    for k in k_values:
        per_user = {
            "precision": M.precision_at_k(h, k), "recall": M.recall_at_k(h, n_rel, k),
            "ndcg": M.ndcg_at_k(h, n_rel, k), "map": M.map_at_k(h, n_rel, k),
            "mrr": M.mrr_at_k(h, k), "hit_rate": M.hit_rate_at_k(h, k),
        }
        rows += [(name, k, M.mean_over_users(v, n_rel)) for name, v in per_user.items()]
    return rows


def category_vectors(data: InteractionData) -> np.ndarray:
    codes = pd.Categorical(data.items["category"]).codes
    return np.eye(codes.max() + 1)[codes]


def evaluate(model: Recommender, data: InteractionData, fallback: Recommender | None = None,
             k_values: Sequence[int] = K_VALUES) -> pd.DataFrame:
    """Long table (slice, metric, k, value, n_users) of ``model`` on the test window."""
    rel = relevant_items(data)
    n_rel_all = M.n_relevant(rel)
    users = np.flatnonzero(n_rel_all > 0)
    kmax = max(k_values)
    recs, _, cold = recommend_with_fallback(model, fallback, users, kmax, data.train)
    rel_users = rel[users]
    h = M.hits(recs, rel_users)
    n_rel = n_rel_all[users]

    new_mask = data.items["is_new_item"].to_numpy() == 1
    rel_new = sp.csr_matrix(rel_users.multiply(new_mask[None, :].astype(np.float32)))
    n_rel_new = M.n_relevant(rel_new)
    slices = {
        "all": (h, n_rel),
        "warm_users": (h[~cold], n_rel[~cold]),
        "cold_users": (h[cold], n_rel[cold]),
        "new_items": (M.hits(recs, rel_new), n_rel_new),
    }
    rows = []
    for name, (hs, nr) in slices.items():
        n_users = int((nr > 0).sum())
        rows += [(name, metric, k, value, n_users) for metric, k, value in ranking_rows(hs, nr, k_values)]
    popularity = data.item_popularity()
    cats = category_vectors(data)
    for k in k_values:
        rows += [
            ("all", "coverage", k, M.catalog_coverage(recs[:, :k], data.n_items), len(users)),
            ("all", "diversity", k, M.intra_list_diversity(recs[:, :k], cats), len(users)),
            ("all", "novelty", k, M.novelty(recs[:, :k], popularity, data.n_users), len(users)),
        ]
    return pd.DataFrame(rows, columns=["slice", "metric", "k", "value", "n_users"])


class OracleRecommender(Recommender):
    """Ranks items by the synthetic generator's true affinity: the upper bound of the benchmark."""

    name = "oracle"

    def __init__(self, ground_truth: GroundTruth | None = None, **params) -> None:
        super().__init__(**params)
        self.ground_truth = ground_truth

    def fit(self, interactions: sp.csr_matrix, user_ids: np.ndarray = None, item_ids: np.ndarray = None,
            **side) -> OracleRecommender:
        gt = self.ground_truth
        u_pos = pd.Index(gt.user_ids).get_indexer(user_ids)
        i_pos = pd.Index(gt.item_ids).get_indexer(item_ids)
        if (u_pos < 0).any() or (i_pos < 0).any():
            raise ValueError("the ground truth does not describe these users/items: it belongs to another dataset")
        self.user_rows, self.item_rows = u_pos, i_pos
        self.n_users, self.n_items = interactions.shape
        return self

    def score_users(self, user_indices: np.ndarray) -> np.ndarray:
        return self.ground_truth.affinity(self.user_rows[user_indices], self.item_rows)

    def _arrays(self):
        return {"user_rows": self.user_rows, "item_rows": self.item_rows}

    def _restore(self, arrays):
        self.user_rows, self.item_rows = arrays["user_rows"], arrays["item_rows"]


def cold_start_metrics(model: Recommender, data: InteractionData, k: int = 10, few: int = 3) -> pd.DataFrame:
    """NDCG and recall@k of the model's own lists (no fallback) for users with no train interactions,
    users with 1..``few``, and relevance restricted to items new in the test window."""
    rel = relevant_items(data)
    n_rel_all = M.n_relevant(rel)
    users = np.flatnonzero(n_rel_all > 0)
    recs, _ = model.recommend(users, k, exclude=data.train)
    n_train = np.diff(data.train.indptr)[users]
    h = M.hits(recs, rel[users])
    new_mask = data.items["is_new_item"].to_numpy() == 1
    rel_new = sp.csr_matrix(rel[users].multiply(new_mask[None, :].astype(np.float32)))
    slices = {
        "cold_users": (h[n_train == 0], n_rel_all[users][n_train == 0]),
        f"users_1_to_{few}_interactions": (h[(n_train >= 1) & (n_train <= few)],
                                           n_rel_all[users][(n_train >= 1) & (n_train <= few)]),
        "new_items": (M.hits(recs, rel_new), M.n_relevant(rel_new)),
    }
    rows = []
    for name, (hs, nr) in slices.items():
        rows.append((name, "ndcg", k, M.mean_over_users(M.ndcg_at_k(hs, nr, k), nr), int((nr > 0).sum())))
        rows.append((name, "recall", k, M.mean_over_users(M.recall_at_k(hs, nr, k), nr), int((nr > 0).sum())))
    return pd.DataFrame(rows, columns=["slice", "metric", "k", "value", "n_users"])
