"""Item-item collaborative filtering: shrunk cosine similarity, top-k neighbours per item, sparse.

sim(i, j) = <x_i, x_j> / (|x_i| |x_j| + shrinkage), over the item columns of the user x item weight
matrix after ``weighting`` (``log``: log1p of the mart weight, the default, damps heavy repeat users;
``binary``; ``raw``). Neighbours are computed in blocks of items: one sparse product block x all items at a time
(its dense form is bounded by SCORE_BLOCK_ELEMENTS), so no items x items or users x items matrix is
ever dense. Users are scored by ``x_u . S`` with the sparse neighbour matrix S.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ml.models.base import SCORE_BLOCK_ELEMENTS, Recommender, sparse_from_arrays, sparse_to_arrays, top_k

WEIGHTINGS = {"log": np.log1p, "binary": np.sign, "raw": lambda w: w}


class ItemItemRecommender(Recommender):
    name = "item_item"
    supports_similar_items = True

    def __init__(self, k_neighbors: int = 100, shrinkage: float = 50.0, weighting: str = "log", **params) -> None:
        if weighting not in WEIGHTINGS:
            raise ValueError(f"weighting must be one of {sorted(WEIGHTINGS)}, got {weighting!r}")
        super().__init__(k_neighbors=k_neighbors, shrinkage=shrinkage, weighting=weighting, **params)
        self.k_neighbors = k_neighbors
        self.shrinkage = shrinkage
        self.weighting = weighting

    def fit(self, interactions: sp.csr_matrix, **side) -> ItemItemRecommender:
        X = sp.csr_matrix(interactions, dtype=np.float32, copy=True)
        X.data = WEIGHTINGS[self.weighting](X.data)
        self.n_users, self.n_items = X.shape
        self.user_items = X
        self.similarity = item_neighbours(X, self.k_neighbors, self.shrinkage)
        return self

    def score_users(self, user_indices: np.ndarray) -> np.ndarray:
        # scores[u, j] = sum_i x[u, i] * S[i, j]
        return (self.user_items[user_indices] @ self.similarity).toarray()

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


def item_neighbours(X: sp.csr_matrix, k: int, shrinkage: float) -> sp.csr_matrix:
    """Sparse items x items matrix holding each item's top-k shrunk-cosine neighbours (self excluded)."""
    n_items = X.shape[1]
    k = min(k, max(n_items - 1, 0))
    Xt = X.T.tocsr()
    norms = np.sqrt(np.asarray(Xt.multiply(Xt).sum(axis=1)).ravel()).astype(np.float32)
    block = max(1, SCORE_BLOCK_ELEMENTS // max(n_items, 1))
    rows, cols, vals = [], [], []
    for lo in range(0, n_items, block):
        hi = min(lo + block, n_items)
        dots = (Xt[lo:hi] @ X).toarray()  # (block x items), bounded
        sims = dots / (norms[lo:hi, None] * norms[None, :] + shrinkage + 1e-12)
        sims[np.arange(hi - lo), np.arange(lo, hi)] = -np.inf  # no self-neighbour
        sims[dots <= 0] = -np.inf  # only items that co-occur
        idx, val = top_k(sims, k)
        keep = idx >= 0
        rows.append(np.repeat(np.arange(lo, hi), keep.sum(axis=1)))
        cols.append(idx[keep])
        vals.append(val[keep])
    if not rows:
        return sp.csr_matrix((n_items, n_items), dtype=np.float32)
    S = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                      shape=(n_items, n_items), dtype=np.float32)
    S.sort_indices()
    return S
