"""EASE (Steck, 2019): a closed-form linear item-item model, a strong and cheap baseline on public data.

B = argmin |X - XB|^2 + l2 |B|^2 subject to diag(B) = 0 has the solution P = (X^T X + l2 I)^-1,
B = -P / diag(P) (column-wise), diag(B) = 0. Users are scored by ``x_u B``. The items x items Gram
matrix and its inverse are dense, so memory grows with the square of the catalogue: above the item
count that ``memory_gb`` allows, fit stops with :class:`~ml.recommenders.base.CatalogueTooLarge`
(the training asset then skips, with the reason, instead of exhausting the machine).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg
import scipy.sparse as sp

from ml.artifacts import loader, sparse_from_arrays, sparse_to_arrays
from ml.hyperparams import one_of, param
from ml.interactions import most_chosen
from ml.recommenders.base import CatalogueTooLarge, FoldIn, ItemSimilarity, Recommender, top_k
from ml.recommenders.item_item import WEIGHTINGS, weighted

BYTES_PER_ITEM_PAIR = 8 * 2 + 4  # the float64 Gram matrix and its inverse, and the float32 weights


@dataclass(frozen=True)
class EASEParams:
    l2: float = param(200.0, "L2 penalty on the item weights (larger: closer to popularity)")
    weighting: str = param("binary", "transform of the mart weights: binary (the paper's), log (log1p) or raw")
    memory_gb: float = param(4.0, "memory budget of the dense items x items solve; larger catalogues are refused")
    max_items: int = param(0, "solve over the most chosen items only, at most this many (0: all); the others get no weights")

    def __post_init__(self) -> None:
        one_of(self, "weighting", WEIGHTINGS)


def max_items(memory_gb: float) -> int:
    """The largest catalogue whose dense solve fits in ``memory_gb``."""
    return int(np.sqrt(memory_gb * 2**30 / BYTES_PER_ITEM_PAIR))


@loader("ease")
class EASERecommender(Recommender, ItemSimilarity, FoldIn):
    name = "ease"
    Params = EASEParams

    def fit(self, interactions: sp.csr_matrix, **side) -> EASERecommender:
        self._check_catalogue(interactions.shape[1])
        X, active = self._active(interactions)
        Xa = X[:, active]
        gram = (Xa.T @ Xa).toarray()
        gram[np.diag_indices_from(gram)] += self.params["l2"]
        inverse = scipy.linalg.inv(gram, overwrite_a=True, check_finite=False)
        del gram
        return self._set_weights(X, active, inverse)

    def _check_catalogue(self, n_items: int) -> None:
        limit = max_items(self.params["memory_gb"])
        if n_items > limit:
            raise CatalogueTooLarge(
                f"EASE needs a dense {n_items:,} x {n_items:,} solve (~{n_items**2 * BYTES_PER_ITEM_PAIR / 2**30:.1f} GiB); "
                f"memory_gb={self.params['memory_gb']} allows {limit:,} items: raise memory_gb or use item_item / als"
            )

    def _active(self, interactions: sp.csr_matrix) -> tuple[sp.csr_matrix, np.ndarray]:
        """The weighted interactions, and the items the solve covers (chosen by anyone, capped by max_items)."""
        X = sp.csr_matrix(interactions, dtype=np.float64, copy=True)
        X.data = WEIGHTINGS[self.params["weighting"]](X.data)
        # an item nobody chose has a zero Gram row: its weights are zero, so the solve skips it
        chosen = np.diff(X.tocsc().indptr)
        active = np.flatnonzero(chosen)
        if self.params["max_items"] and len(active) > self.params["max_items"]:
            active = most_chosen(chosen, self.params["max_items"])
        return X, active

    def _set_weights(self, X: sp.csr_matrix, active: np.ndarray, inverse: np.ndarray) -> EASERecommender:
        """B = -P / diag(P) with a zero diagonal, P the inverse of the regularised Gram matrix of ``active``."""
        block = inverse / (-np.diag(inverse))[None, :]
        np.fill_diagonal(block, 0.0)
        n_items = X.shape[1]
        self.weights = np.zeros((n_items, n_items), dtype=np.float32)
        self.weights[np.ix_(active, active)] = block
        self.user_items = sp.csr_matrix(X, dtype=np.float32)
        self.n_users, self.n_items = X.shape
        return self

    def score_users(self, user_indices: np.ndarray) -> np.ndarray:
        return np.asarray(self.user_items[user_indices] @ self.weights)

    def score_histories(self, histories: sp.csr_matrix) -> np.ndarray:
        return np.asarray(weighted(histories, self.params["weighting"]) @ self.weights)

    def similar_items(self, item_indices, k: int):
        self._check_fitted()
        item_indices = np.asarray(item_indices)
        block = self.weights[item_indices].copy()  # row q: what a user who chose q is scored on
        block[np.arange(len(item_indices)), item_indices] = -np.inf
        return top_k(block, k)

    def _arrays(self):
        return {"weights": self.weights, **sparse_to_arrays("user_items", self.user_items)}

    def _restore(self, arrays):
        self.weights = arrays["weights"]
        self.user_items = sparse_from_arrays("user_items", arrays)


class RegularisationPath:
    """EASE for many ``l2`` from one factorisation: the Gram matrix G = V diag(w) V^T is decomposed
    once (``scipy.linalg.eigh``), and P(l2) = (G + l2 I)^-1 = V diag(1 / (w + l2)) V^T is one float32
    matrix product per ``l2`` (U U^T with U = V diag((w + l2)^-1/2)) instead of a float64 solve: what
    tuning walks over. The weights agree with :meth:`EASERecommender.fit` to float32 precision."""

    def __init__(self, interactions: sp.csr_matrix, **params) -> None:
        self.params = {k: v for k, v in params.items() if k != "l2"}
        template = EASERecommender(**self.params)
        template._check_catalogue(interactions.shape[1])
        self.X, self.active = template._active(interactions)
        Xa = self.X[:, self.active]
        self.eigenvalues, vectors = scipy.linalg.eigh((Xa.T @ Xa).toarray(), overwrite_a=True, check_finite=False)
        self.vectors = vectors.astype(np.float32)

    def model(self, l2: float) -> EASERecommender:
        scale = (1.0 / np.sqrt(np.maximum(self.eigenvalues, 0.0) + l2)).astype(np.float32)
        u = self.vectors * scale[None, :]
        return EASERecommender(**self.params, l2=l2)._set_weights(self.X, self.active, u @ u.T)
