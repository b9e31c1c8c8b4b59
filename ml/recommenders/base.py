"""The protocols every ranking model implements, and the top-k selection they share.

Two roles, so that no class implements a method by raising:

- :class:`Scorer` (read-only): ``score_users(user_indices)`` -> dense scores and the shared
  ``recommend(user_indices, k, exclude=None) -> (items[n, k], scores[n, k])``. ``exclude`` is a CSR
  matrix (users x items) whose non-zeros are never recommended (usually the train matrix). Rows with
  fewer than k candidates are padded with item -1 and score -inf. Ties go to the lower item index.
  Composed pipelines (the two-stage ranker, a CTR reranker) and the oracle are scorers.
- :class:`Recommender` (a scorer that is trainable and persistable): ``fit(interactions, **side)`` on
  a users x items ``scipy.sparse.csr_matrix`` of float weights (the interactions mart), and
  ``save(directory)`` / ``load(directory)`` as ``params.json`` + ``arrays.npz`` (no pickles).

Models that can rank items by similarity also implement :class:`ItemSimilarity`; models that score by
an inner product of user and item vectors implement :class:`Embedding` (approximate retrieval); models
that score any history without retraining implement :class:`FoldIn` (request-time events), and
sequential models :class:`SequenceFoldIn` (the same, in order). Every artifact the
graph publishes loads back through :func:`ml.artifacts.load_model`.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from ml.artifacts import read_arrays, read_params, write_arrays, write_params
from ml.errors import CannotTrain
from ml.feature_sets import FeatureSet
from ml.hyperparams import NoParams

# bound the dense score block of one batch (rows x items float32) to about 64 MB
SCORE_BLOCK_ELEMENTS = 16_000_000


def top_k(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Row-wise top-k of a dense score block, best first; ties go to the lower column index.

    Entries equal to -inf are never returned: their positions are filled with item -1.
    """
    n, m = scores.shape
    k_eff = min(k, m)
    items = np.full((n, k), -1, dtype=np.int64)
    out = np.full((n, k), -np.inf, dtype=np.float32)
    if n == 0 or k_eff == 0:
        return items, out
    # kth largest value per row; everything above it is in, ties at it are taken by index order
    part = np.partition(scores, m - k_eff, axis=1)[:, m - k_eff]
    above = scores > part[:, None]
    need = k_eff - above.sum(axis=1)
    at = scores == part[:, None]
    take = above | at
    tied = np.flatnonzero(at.sum(axis=1) > need)  # only these rows have more ties than places left
    if len(tied):
        take[tied] = above[tied] | (at[tied] & (np.cumsum(at[tied], axis=1) <= need[tied, None]))
    rows, cols = np.nonzero(take)
    cand = cols.reshape(n, k_eff)
    cand_scores = np.take_along_axis(scores, cand, axis=1)
    # candidates come sorted by column index, so a stable sort on -score breaks ties by lower index
    order = np.argsort(-cand_scores, axis=1, kind="stable")
    cand = np.take_along_axis(cand, order, axis=1)
    cand_scores = np.take_along_axis(cand_scores, order, axis=1)
    valid = np.isfinite(cand_scores)
    items[:, :k_eff] = np.where(valid, cand, -1)
    out[:, :k_eff] = cand_scores
    return items, out


def excluded_pairs(exclude: sp.csr_matrix, user_indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The excluded (batch row, item) pairs of ``user_indices``: row i is the i-th user of the batch."""
    user_indices = np.asarray(user_indices)
    starts, ends = exclude.indptr[user_indices], exclude.indptr[user_indices + 1]
    lengths = ends - starts
    rows = np.repeat(np.arange(len(user_indices)), lengths)
    # positions of each user's non-zeros in exclude.indices, without scipy's fancy row indexing
    offsets = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    return rows, exclude.indices[np.repeat(starts, lengths) + offsets]


def mask_excluded(scores: np.ndarray, exclude: sp.csr_matrix | None, user_indices: np.ndarray) -> None:
    """Set scores of excluded (user, item) pairs to -inf in place."""
    if exclude is not None:
        scores[excluded_pairs(exclude, user_indices)] = -np.inf


def batched_top_k(
    score_fn, user_indices: np.ndarray, n_items: int, k: int, exclude: sp.csr_matrix | None
) -> tuple[np.ndarray, np.ndarray]:
    """Run ``score_fn(batch_user_indices) -> dense scores`` in memory-bounded batches, then top-k."""
    user_indices = np.asarray(user_indices, dtype=np.int64)
    batch = max(1, SCORE_BLOCK_ELEMENTS // max(n_items, 1))
    items = np.full((len(user_indices), k), -1, dtype=np.int64)
    scores = np.full((len(user_indices), k), -np.inf, dtype=np.float32)
    for lo in range(0, len(user_indices), batch):
        users = user_indices[lo : lo + batch]
        block = np.asarray(score_fn(users), dtype=np.float32)
        mask_excluded(block, exclude, users)
        items[lo : lo + batch], scores[lo : lo + batch] = top_k(block, k)
    return items, scores


class CatalogueTooLarge(CannotTrain):
    """The catalogue is above what the model's resource budget allows."""


class Scorer(ABC):
    """Read-only ranking: dense scores for users, and top-k recommendations built on them."""

    name: str
    # True when users without history get meaningful scores from their features (no fallback needed)
    cold_start_from_features: ClassVar[bool] = False
    n_users: int = 0
    n_items: int = 0

    @abstractmethod
    def score_users(self, user_indices: np.ndarray) -> np.ndarray:
        """Dense scores (len(user_indices) x n_items) for a batch of users."""

    def recommend(self, user_indices, k: int, exclude: sp.csr_matrix | None = None) -> tuple[np.ndarray, np.ndarray]:
        self._check_fitted()
        user_indices = np.asarray(user_indices, dtype=np.int64)
        if len(user_indices) and (user_indices.min() < 0 or user_indices.max() >= self.n_users):
            raise IndexError(f"user indices must be in [0, {self.n_users}); got {user_indices.min()}..{user_indices.max()}")
        return batched_top_k(self.score_users, user_indices, self.n_items, k, exclude)

    def _check_fitted(self) -> None:
        if self.n_items == 0:
            raise RuntimeError(f"{self.name} is not fitted: call fit() or load() first")


def served_by_fallback(model: Scorer, has_history: np.ndarray) -> np.ndarray:
    """Which users the fallback (popularity) serves instead of ``model``: those without train history,
    unless the model embeds users from their features. The one rule of the evaluation and the service."""
    return ~np.asarray(has_history, dtype=bool) & (not model.cold_start_from_features)


def check_finite_scores(model: Scorer, n_probe: int = 64) -> None:
    """Raise when the model scores NaN or +inf for any of a spread of probe users (-inf is allowed:
    it marks items a composed model never proposes). Nothing that fails it is published or served."""
    if model.n_users == 0:
        return
    users = np.unique(np.linspace(0, model.n_users - 1, min(n_probe, model.n_users)).astype(np.int64))
    scores = np.asarray(model.score_users(users), dtype=np.float64)
    bad = np.isnan(scores) | np.isposinf(scores)
    if bad.any():
        raise ValueError(
            f"{model.name} scores {int(bad.sum()):,} non-finite values (NaN or +inf) for {len(users)} probe users: "
            "a NaN or infinite input (e.g. a price) or a diverged training; it is not published or served"
        )


class Embedding(ABC):
    """Models whose score of a (user, item) pair is the inner product of a user vector and an item
    vector: their top-k can be retrieved approximately from an index over the item vectors (ml.ann)."""

    @abstractmethod
    def user_vectors(self, user_indices: np.ndarray) -> np.ndarray:
        """The vectors (len(user_indices) x dim, float32) whose products with item_vectors() are the scores."""

    @abstractmethod
    def item_vectors(self) -> np.ndarray:
        """The item vectors (n_items x dim, float32)."""


class FoldIn(ABC):
    """Models that score a user from a history given at scoring time, without retraining: the service
    folds in the events that arrived after training (``POST /events``), for known and new users."""

    @abstractmethod
    def score_histories(self, histories: sp.csr_matrix) -> np.ndarray:
        """Dense scores (rows x n_items) of users whose histories are the rows (weights as in the
        interactions mart, before the model's own weighting)."""


class SequenceFoldIn(ABC):
    """Models that score a user from the order of their steps (sequential models): the service continues
    the user's trained sequence with the items of the events logged since training, in time order."""

    @abstractmethod
    def score_continued(self, user_rows: np.ndarray, continuations: list[np.ndarray]) -> np.ndarray:
        """Dense scores (rows x n_items) of users whose trained sequence (``user_rows``; -1: a user the
        model never saw) goes on with the item indices of ``continuations``, oldest first."""


class ItemSimilarity(ABC):
    """Models that rank items by their similarity to an item (``/items/{id}/similar``)."""

    @abstractmethod
    def similar_items(self, item_indices, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k most similar items per item (the item itself excluded), best first."""


class Recommender(Scorer):
    """A trainable, persistable scorer. Subclasses set ``name`` and implement fit, score_users and
    the array (de)serialisation."""

    Params: ClassVar[type] = NoParams  # the model's hyperparameter dataclass (ml.hyperparams)
    reads_sequences: ClassVar[bool] = False  # fit takes the ordered steps (sequences=, marts.user_sequences)

    def __init__(self, **params: Any) -> None:
        self.hp = self.Params(**params)  # unknown names fail here, with the model's own message
        self.params: dict[str, Any] = dataclasses.asdict(self.hp)
        self.n_users = 0
        self.n_items = 0
        self.features: dict[str, FeatureSet] = {}  # the declared features it was fit with, by mart

    @abstractmethod
    def fit(self, interactions: sp.csr_matrix, **side: Any) -> Recommender: ...

    @abstractmethod
    def _arrays(self) -> dict[str, np.ndarray]: ...

    @abstractmethod
    def _restore(self, arrays: dict[str, np.ndarray]) -> None: ...

    def save(self, directory: str | Path) -> Path:
        features = {mart: fs.to_dict() for mart, fs in self.features.items()}
        directory = write_params(directory, self.name, self.params, n_users=self.n_users, n_items=self.n_items, features=features)
        write_arrays(directory / "arrays.npz", self._arrays())
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> Recommender:
        directory = Path(directory)
        meta = read_params(directory, cls.name)
        model = cls(**meta["params"])
        model.n_users, model.n_items = meta["n_users"], meta["n_items"]
        model.features = {mart: FeatureSet.from_dict(fs) for mart, fs in meta.get("features", {}).items()}
        model._restore(read_arrays(directory / "arrays.npz"))
        return model
