"""Item-item collaborative filtering: shrunk cosine similarity, top-k neighbours per item, sparse.

sim(i, j) = <x_i, x_j> / (|x_i| |x_j| + shrinkage), over the item columns of the user x item weight
matrix after ``weighting`` (``log``: log1p of the mart weight, the default, damps heavy repeat users;
``binary``; ``raw``). Neighbours come from a numba kernel, parallel over items, that accumulates one
item's sparse dot-product row through its users (as implicit's all_pairs_knn does) in a per-thread
accumulator, so no items x items or users x items matrix is ever dense. Users are scored by
``x_u . S`` with the sparse neighbour matrix S.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numba import get_num_threads, njit, prange

from ml.artifacts import loader, sparse_from_arrays, sparse_to_arrays
from ml.hyperparams import one_of, param
from ml.recommenders.base import FoldIn, ItemSimilarity, Recommender, top_k

WEIGHTINGS: dict[str, Callable[[np.ndarray], np.ndarray]] = {"log": np.log1p, "binary": np.sign, "raw": lambda w: w}


@dataclass(frozen=True)
class ItemItemParams:
    k_neighbors: int = param(100, "neighbours kept per item")
    shrinkage: float = param(50.0, "added to the cosine denominator; damps rare co-occurrences")
    weighting: str = param("log", "transform of the mart weights: log (log1p), binary or raw")

    def __post_init__(self) -> None:
        one_of(self, "weighting", WEIGHTINGS)


def weighted(histories: sp.csr_matrix, weighting: str) -> sp.csr_matrix:
    """Mart weights after a model's ``weighting`` parameter (a copy)."""
    X = sp.csr_matrix(histories, dtype=np.float32, copy=True)
    X.data = WEIGHTINGS[weighting](X.data)
    return X


class NeighbourModel(Recommender, ItemSimilarity, FoldIn):
    """A model of sparse item neighbours S (items x items) and the users' weighted histories X: a user
    is scored by ``x_u . S``, an item's similar items are its row of S. Subclasses fit S."""

    def _history(self, interactions: sp.csr_matrix) -> sp.csr_matrix:
        """X: the interactions after the ``weighting`` parameter, kept to score the users."""
        X = weighted(interactions, self.params["weighting"])
        self.n_users, self.n_items = X.shape
        self.user_items = X
        return X

    def score_users(self, user_indices: np.ndarray) -> np.ndarray:
        # scores[u, j] = sum_i x[u, i] * S[i, j]
        return (self.user_items[user_indices] @ self.similarity).toarray()

    def score_histories(self, histories: sp.csr_matrix) -> np.ndarray:
        return (weighted(histories, self.params["weighting"]) @ self.similarity).toarray()

    def similar_items(self, item_indices, k: int):
        self._check_fitted()
        block = self.similarity[np.asarray(item_indices)].toarray()
        block[block == 0] = -np.inf
        return top_k(block, k)

    def _arrays(self):
        return {**sparse_to_arrays("similarity", self.similarity), **sparse_to_arrays("user_items", self.user_items)}

    def _restore(self, arrays):
        self.similarity = sparse_from_arrays("similarity", arrays)
        self.user_items = sparse_from_arrays("user_items", arrays)


@loader("item_item")
class ItemItemRecommender(NeighbourModel):
    name = "item_item"
    Params = ItemItemParams

    def fit(self, interactions: sp.csr_matrix, **side) -> ItemItemRecommender:
        self.similarity = item_neighbours(self._history(interactions), self.params["k_neighbors"], self.params["shrinkage"])
        return self


def item_neighbours(X: sp.csr_matrix, k: int, shrinkage: float) -> sp.csr_matrix:
    """Sparse items x items matrix holding each item's top-k shrunk-cosine neighbours (self excluded)."""
    X = sp.csr_matrix(X, dtype=np.float32)
    X.sort_indices()
    Xt = X.T.tocsr()
    n_items = X.shape[1]
    k = min(k, max(n_items - 1, 0))
    norms = np.sqrt(np.bincount(X.indices, weights=X.data.astype(np.float64) ** 2, minlength=n_items)).astype(np.float32)
    out_idx = np.full((n_items, max(k, 1)), -1, dtype=np.int64)
    out_val = np.zeros((n_items, max(k, 1)), dtype=np.float32)
    if k > 0:
        _neighbours_kernel(
            Xt.indptr,
            Xt.indices,
            Xt.data,
            X.indptr,
            X.indices,
            X.data,
            norms,
            k,
            np.float32(shrinkage),
            out_idx,
            out_val,
            get_num_threads(),
        )
    keep = out_idx >= 0  # each row's neighbours are left-aligned, so row-major order is CSR order
    indptr = np.concatenate([[0], np.cumsum(keep.sum(axis=1))])
    return sp.csr_matrix((out_val[keep], out_idx[keep], indptr), shape=(n_items, n_items))


@njit(parallel=True, cache=True, nogil=True, fastmath=True, error_model="numpy")
def _neighbours_kernel(
    xt_indptr, xt_indices, xt_data, x_indptr, x_indices, x_data, norms, k, shrinkage, out_idx, out_val, n_threads
):  # pragma: no cover - compiled
    """For each item (in parallel): accumulate dot products with every co-occurring item through the
    users who interacted with it (a sparse dot row, as implicit's all_pairs_knn does), shrink, and keep
    the k largest by a partition threshold. Only one dense accumulator row per thread."""
    n_items = len(xt_indptr) - 1
    for t in prange(n_threads):
        acc = np.zeros(n_items, dtype=np.float32)
        touched = np.empty(n_items, dtype=np.int64)
        buffer = np.empty(n_items, dtype=np.float32)
        for i in range(t, n_items, n_threads):  # interleaved items balance the threads' work
            n_touched = 0
            for p in range(xt_indptr[i], xt_indptr[i + 1]):
                u = xt_indices[p]
                w = xt_data[p]
                for q in range(x_indptr[u], x_indptr[u + 1]):
                    j = x_indices[q]
                    if acc[j] == 0.0:
                        touched[n_touched] = j
                        n_touched += 1
                    acc[j] += w * x_data[q]
            vals = buffer[:n_touched]
            for c in range(n_touched):
                j = touched[c]
                vals[c] = acc[j] / (norms[i] * norms[j] + shrinkage) if j != i else -1.0
                acc[j] = 0.0
            if n_touched == 0:
                continue
            thr = np.partition(vals, n_touched - k)[n_touched - k] if n_touched > k else -1.0
            r = 0
            for c in range(n_touched):  # strictly above the threshold first, then ties in item order
                if vals[c] > thr and vals[c] > 0 and r < k:
                    out_idx[i, r] = touched[c]
                    out_val[i, r] = vals[c]
                    r += 1
            for c in range(n_touched):
                if vals[c] == thr and vals[c] > 0 and r < k:
                    out_idx[i, r] = touched[c]
                    out_val[i, r] = vals[c]
                    r += 1
