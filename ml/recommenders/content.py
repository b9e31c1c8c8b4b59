"""Content-based and hybrid recommenders.

Content: items are vectors of their declared features (marts.item_features: one-hot blocks for each
categorical feature, and for each numeric one its quantile band; each block of equal weight); a user's
profile is the weight-averaged vector of the items they interacted with;
score = profile . item. Users without history have no profile (served by the fallback).
Hybrid: a blend of ALS and content scores, each standardised per user: alpha * z(als) + (1 - alpha) * z(content).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ml.artifacts import loader, sparse_from_arrays, sparse_to_arrays
from ml.feature_sets import FeatureSet, declared
from ml.hyperparams import param
from ml.interactions import as_text
from ml.recommenders.als import ALSRecommender
from ml.recommenders.base import ItemSimilarity, Recommender, top_k

BANDS = 5  # quantile bands of a numeric feature


def bands(values: pd.Series) -> pd.Series:
    """A numeric feature as its quantile band (of ``BANDS``); missing values keep no rank, and no band."""
    ranks = pd.to_numeric(values, errors="coerce").rank(method="first")
    return pd.qcut(ranks, min(BANDS, int(ranks.count())), labels=False) if ranks.count() else ranks


def item_content_matrix(items: pd.DataFrame, features: FeatureSet) -> sp.csr_matrix:
    """One-hot blocks of the categorical features, then of the numeric ones' bands (a missing value is
    its own value); each block contributes equally: the row is normalised to length 1."""
    columns = [items[c] for c in features.categorical] + [bands(items[c]) for c in features.numeric]
    if not columns:
        raise ValueError("content has no declared item feature: declare one in marts.item_features (config.meta.feature)")
    blocks = []
    for values in columns:
        codes = pd.Categorical(as_text(values)).codes
        blocks.append(sp.csr_matrix((np.ones(len(items)), (np.arange(len(items)), codes))))
    return sp.csr_matrix(sp.hstack(blocks) / np.sqrt(len(blocks)), dtype=np.float32)


@loader("content")
class ContentRecommender(Recommender, ItemSimilarity):
    name = "content"

    def fit(
        self,
        interactions: sp.csr_matrix,
        item_features: pd.DataFrame | None = None,
        features: dict[str, FeatureSet] | None = None,
        reader: str = "content",
        **side,
    ) -> ContentRecommender:
        if item_features is None:
            raise ValueError("content needs item_features from marts.item_features")
        item_set = declared(features, "item_features", reader)
        self.features = {"item_features": item_set}
        self.item_vectors = item_content_matrix(item_features, item_set)
        X = sp.csr_matrix(interactions, dtype=np.float32)
        X.data = np.log1p(X.data)
        profiles = X @ self.item_vectors
        norms = np.sqrt(np.asarray(profiles.multiply(profiles).sum(axis=1))).ravel()
        self.profiles = sp.csr_matrix(sp.diags(1.0 / np.maximum(norms, 1e-12)) @ profiles, dtype=np.float32)
        self.n_users, self.n_items = X.shape
        return self

    def score_users(self, user_indices: np.ndarray) -> np.ndarray:
        return (self.profiles[user_indices] @ self.item_vectors.T).toarray()

    def similar_items(self, item_indices, k: int):
        self._check_fitted()
        item_indices = np.asarray(item_indices)
        sims = (self.item_vectors[item_indices] @ self.item_vectors.T).toarray()
        sims[np.arange(len(item_indices)), item_indices] = -np.inf
        return top_k(sims, k)

    def _arrays(self):
        return {**sparse_to_arrays("items", self.item_vectors), **sparse_to_arrays("profiles", self.profiles)}

    def _restore(self, arrays):
        self.item_vectors, self.profiles = sparse_from_arrays("items", arrays), sparse_from_arrays("profiles", arrays)


def _standardise(scores: np.ndarray) -> np.ndarray:
    mean = scores.mean(axis=1, keepdims=True)
    std = scores.std(axis=1, keepdims=True)
    return (scores - mean) / np.where(std > 0, std, 1.0)


@dataclass(frozen=True)
class HybridParams:
    alpha: float = param(0.7, "weight of the standardised ALS scores; 1 - alpha goes to content")
    factors: int = param(16, "ALS latent dimensions")
    regularization: float = param(1.0, "ALS L2 penalty")
    als_alpha: float = param(1.0, "ALS confidence = 1 + als_alpha * weight")
    iterations: int = param(15, "ALS sweeps")
    seed: int = param(42, "ALS seed")


@loader("hybrid")
class HybridRecommender(Recommender):
    name = "hybrid"
    Params = HybridParams

    def _parts(self) -> tuple[ALSRecommender, ContentRecommender]:
        p = self.params
        return (
            ALSRecommender(
                factors=p["factors"],
                regularization=p["regularization"],
                alpha=p["als_alpha"],
                iterations=p["iterations"],
                seed=p["seed"],
            ),
            ContentRecommender(),
        )

    def fit(
        self,
        interactions: sp.csr_matrix,
        item_features: pd.DataFrame | None = None,
        features: dict[str, FeatureSet] | None = None,
        **side,
    ) -> HybridRecommender:
        self.cf, self.content = self._parts()
        self.cf.fit(interactions)
        self.content.fit(interactions, item_features=item_features, features=features, reader=self.name)
        self.features = self.content.features
        self.n_users, self.n_items = interactions.shape
        return self

    def score_users(self, user_indices: np.ndarray) -> np.ndarray:
        a = self.params["alpha"]
        return a * _standardise(self.cf.score_users(user_indices)) + (1 - a) * _standardise(
            self.content.score_users(user_indices)
        )

    def _arrays(self):
        return {
            **{f"cf.{k}": v for k, v in self.cf._arrays().items()},
            **{f"content.{k}": v for k, v in self.content._arrays().items()},
        }

    def _restore(self, arrays):
        self.cf, self.content = self._parts()
        for part, prefix in ((self.cf, "cf."), (self.content, "content.")):
            part._restore({k[len(prefix) :]: v for k, v in arrays.items() if k.startswith(prefix)})
            part.n_users, part.n_items = self.n_users, self.n_items
