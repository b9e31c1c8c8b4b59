"""RP3beta (Paudel et al., 2017): item-to-item transition probabilities of a three-step random walk on
the user-item graph, with popular destinations penalised. A strong cheap baseline on implicit feedback.

With P_ui the user -> item transition matrix (each user's weights over their items, summing to 1) and
P_iu the item -> user one (each item's weights over its users), both raised elementwise to ``alpha``,
    W = P_iu^alpha @ P_ui^alpha,   then   W[i, j] /= popularity(j) ** beta
(popularity: the item's number of users), the diagonal zeroed, and the top ``k_neighbors`` kept per row.
Users are scored by ``x_u . W`` (``NeighbourModel``, as item-item). Rows of W are computed in
blocks, so no items x items matrix is ever dense.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ml.artifacts import loader
from ml.hyperparams import one_of, param
from ml.recommenders.base import top_k
from ml.recommenders.item_item import WEIGHTINGS, NeighbourModel

BLOCK = 512  # rows of W computed at once: BLOCK x n_items floats


@dataclass(frozen=True)
class RP3betaParams:
    alpha: float = param(1.0, "exponent on the transition probabilities (1: the plain random walk)")
    beta: float = param(0.5, "popularity penalty on the destination item (0: P3alpha, no penalty)")
    k_neighbors: int = param(100, "neighbours kept per item")
    weighting: str = param("binary", "transform of the mart weights: binary (the paper's), log (log1p) or raw")

    def __post_init__(self) -> None:
        one_of(self, "weighting", WEIGHTINGS)


def row_normalised(X: sp.csr_matrix, alpha: float) -> sp.csr_matrix:
    """Each row divided by its sum, then raised to ``alpha`` (rows without entries stay empty)."""
    sums = np.asarray(X.sum(axis=1)).ravel()
    out = sp.diags(np.divide(1.0, sums, out=np.zeros_like(sums), where=sums > 0)) @ X
    out = sp.csr_matrix(out)
    out.data **= alpha
    return out


def rp3beta_neighbours(X: sp.csr_matrix, alpha: float, beta: float, k: int) -> sp.csr_matrix:
    """The sparse items x items matrix of each item's top-k RP3beta neighbours (self excluded)."""
    X = sp.csr_matrix(X, dtype=np.float64)
    n_items = X.shape[1]
    p_ui = row_normalised(X, alpha)
    p_iu = row_normalised(sp.csr_matrix(X.T), alpha)
    popularity = np.diff(X.tocsc().indptr).astype(np.float64)
    penalty = np.divide(1.0, popularity**beta, out=np.zeros(n_items), where=popularity > 0)
    k = min(k, max(n_items - 1, 0))
    rows, cols, vals = [], [], []
    for start in range(0, n_items, BLOCK):
        block = (p_iu[start : start + BLOCK] @ p_ui).toarray() * penalty
        block[np.arange(block.shape[0]), np.arange(start, start + block.shape[0])] = 0.0
        if k == 0:
            continue
        idx, val = top_k(np.where(block > 0, block, -np.inf), k)
        keep = idx >= 0
        rows.append(np.repeat(np.arange(start, start + block.shape[0]), k)[keep.ravel()])
        cols.append(idx[keep])
        vals.append(val[keep])
    if not rows:
        return sp.csr_matrix((n_items, n_items), dtype=np.float32)
    data = np.concatenate(vals).astype(np.float32)
    return sp.csr_matrix((data, (np.concatenate(rows), np.concatenate(cols))), shape=(n_items, n_items))


@loader("rp3beta")
class RP3betaRecommender(NeighbourModel):
    name = "rp3beta"
    Params = RP3betaParams

    def fit(self, interactions: sp.csr_matrix, **side) -> RP3betaRecommender:
        X = self._history(interactions)
        self.similarity = rp3beta_neighbours(X, self.params["alpha"], self.params["beta"], self.params["k_neighbors"])
        return self
