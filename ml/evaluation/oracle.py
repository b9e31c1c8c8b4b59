"""The oracle: ranks by the synthetic generator's true affinity and predicts clicks with the true click
probabilities, the upper bound of every metric on synthetic data. It reads any ground truth with the
shape of ``ml.ingest.synthetic.GroundTruth`` (real data has none)."""

from __future__ import annotations

from typing import Protocol

import numpy as np
import pandas as pd

from ml.artifacts import loader
from ml.evaluation import metrics as M
from ml.evaluation.protocol import ctr_rows, evaluate
from ml.interactions import InteractionData
from ml.recommenders.base import Embedding, Recommender, Scorer


class GroundTruth(Protocol):
    user_ids: np.ndarray
    item_ids: np.ndarray
    impression_event_ids: np.ndarray
    click_probability: np.ndarray

    def affinity(self, user_rows: np.ndarray, item_rows: np.ndarray | None = None) -> np.ndarray: ...

    def next_boost(self, last_rows: np.ndarray, item_rows: np.ndarray) -> np.ndarray: ...


class OracleScorer(Scorer):
    """Ranks items by the synthetic generator's true affinity: the upper bound of the benchmark."""

    name = "oracle"

    def __init__(
        self, ground_truth: GroundTruth, user_ids: np.ndarray, item_ids: np.ndarray, last_items: np.ndarray | None = None
    ) -> None:
        """``last_items``: per user (index), the item index of their last step before the window scored
        (-1: none), for a truth with order (its successor is liked more)."""
        self.ground_truth = ground_truth
        self.user_rows = pd.Index(ground_truth.user_ids).get_indexer(user_ids)
        self.item_rows = pd.Index(ground_truth.item_ids).get_indexer(item_ids)
        if (self.user_rows < 0).any() or (self.item_rows < 0).any():
            raise ValueError("the ground truth does not describe these users/items: it belongs to another dataset")
        self.n_users, self.n_items = len(user_ids), len(item_ids)
        self.last_rows = np.full(len(user_ids), -1)
        if last_items is not None:
            self.last_rows = np.where(last_items >= 0, self.item_rows[np.maximum(last_items, 0)], -1)

    def score_users(self, user_indices: np.ndarray) -> np.ndarray:
        scores = self.ground_truth.affinity(self.user_rows[user_indices], self.item_rows)
        return scores + self.ground_truth.next_boost(self.last_rows[user_indices], self.item_rows)


@loader("oracle")
class OracleRecommender(Recommender, Embedding):
    """The oracle as an artifact the service can serve: the true user and item vectors of the data's
    users and items. Only a simulated world publishes it (``recsys-simulate``), so that an experiment
    can show a model's online figures against the truth's."""

    name = "oracle"

    def fit(self, interactions, truth=None, user_ids=None, item_ids=None, **side) -> OracleRecommender:
        """The truth's vectors of ``user_ids`` and ``item_ids`` (the data's, in index order); ``truth`` is the
        synthetic generator's ``GroundTruth`` (its user and item vectors)."""
        if truth is None:
            raise ValueError("the oracle is fit from a ground truth: fit(interactions, truth=..., user_ids=..., item_ids=...)")
        ground_truth = truth
        rows = OracleScorer(ground_truth, np.asarray(user_ids), np.asarray(item_ids))
        self.user_vectors_ = np.asarray(ground_truth.user_vectors[rows.user_rows], dtype=np.float32)
        self.item_vectors_ = np.asarray(ground_truth.item_vectors[rows.item_rows], dtype=np.float32)
        self.n_users, self.n_items = rows.n_users, rows.n_items
        return self

    def score_users(self, user_indices: np.ndarray) -> np.ndarray:
        return self.user_vectors_[user_indices] @ self.item_vectors_.T

    def user_vectors(self, user_indices: np.ndarray) -> np.ndarray:
        return self.user_vectors_[user_indices]

    def item_vectors(self) -> np.ndarray:
        return self.item_vectors_

    def _arrays(self):
        return {"user_vectors": self.user_vectors_, "item_vectors": self.item_vectors_}

    def _restore(self, arrays):
        self.user_vectors_, self.item_vectors_ = arrays["user_vectors"], arrays["item_vectors"]


def last_steps(data: InteractionData) -> np.ndarray | None:
    """Each user's last step before the test window (item index, -1: none), from ``data.sequences``."""
    if data.sequences is None:
        return None
    last = data.sequences.sort_values("position").groupby("user_idx")["item_idx"].last()
    out = np.full(data.n_users, -1)
    out[last.index.to_numpy()] = last.to_numpy()
    return out


def evaluate_oracle(ground_truth: GroundTruth, data: InteractionData, ctr_test: pd.DataFrame) -> pd.DataFrame:
    """Ranking metrics of the true affinity, and the CTR metrics of the true click probabilities."""
    oracle = OracleScorer(ground_truth, data.users["user_id"].to_numpy(), data.items["item_id"].to_numpy(), last_steps(data))
    frame = evaluate(oracle, data, fallback=None)
    if ctr_test.empty:  # no impressions: no click probabilities to score
        return frame
    truth = pd.Series(ground_truth.click_probability, index=ground_truth.impression_event_ids)
    probability = truth.reindex(ctr_test["event_id"]).to_numpy()
    # the generator's own impressions: one the service served later (the live log) has no recorded probability
    known = ~np.isnan(probability)
    if not known.any():
        return frame
    report = M.ctr_report(ctr_test["clicked"].to_numpy()[known], probability[known])
    return pd.concat([frame, ctr_rows(report)], ignore_index=True)
