"""Implicit-feedback ALS (Hu, Koren, Volinsky) through the ``implicit`` library.

Confidence = 1 + alpha * weight, with the weights of the interactions mart. BLAS is limited to one
thread during fit (implicit parallelises itself and warns otherwise).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from implicit.cpu.als import AlternatingLeastSquares
from threadpoolctl import threadpool_limits

from ml import threads
from ml.artifacts import loader
from ml.hyperparams import param
from ml.progress import Progress
from ml.recommenders.base import Embedding, FoldIn, ItemSimilarity, Recommender, top_k


@dataclass(frozen=True)
class ALSParams:
    factors: int = param(16, "latent dimensions")
    regularization: float = param(1.0, "L2 penalty on the factors")
    alpha: float = param(1.0, "confidence = 1 + alpha * weight")
    iterations: int = param(15, "ALS sweeps")
    seed: int = param(42, "random seed of the factor initialisation")


@loader("als")
class ALSRecommender(Recommender, ItemSimilarity, Embedding, FoldIn):
    name = "als"
    Params = ALSParams

    def build(self) -> AlternatingLeastSquares:
        p = self.params
        return AlternatingLeastSquares(
            factors=p["factors"],
            regularization=p["regularization"],
            alpha=p["alpha"],
            iterations=p["iterations"],
            random_state=p["seed"],
            num_threads=threads.budget(),
            calculate_training_loss=False,
        )

    def fit(self, interactions: sp.csr_matrix, log=None, **side) -> ALSRecommender:
        progress = Progress("als training", self.params["iterations"], log, unit="iterations")
        with threadpool_limits(1, "blas"):  # implicit checks the BLAS pool when the model is built
            model = self.build()
            model.fit(
                sp.csr_matrix(interactions, dtype=np.float32),
                show_progress=False,
                callback=lambda iteration, elapsed, loss: progress.update(1),
            )
        progress.finish()
        self.user_factors = np.asarray(model.user_factors, dtype=np.float32)
        self.item_factors = np.asarray(model.item_factors, dtype=np.float32)
        self.n_users, self.n_items = interactions.shape
        return self

    def score_users(self, user_indices: np.ndarray) -> np.ndarray:
        return self.user_factors[user_indices] @ self.item_factors.T

    def fold_in(self, histories: sp.csr_matrix) -> np.ndarray:
        """User factors solved from ``histories`` against the fixed item factors: the user half-step of
        ALS, by implicit's ``recalculate_user`` (the training's confidence and regularisation)."""
        solver = getattr(self, "_solver", None)
        if solver is None or solver.item_factors is not self.item_factors:
            solver = self.build()
            solver.item_factors, solver.user_factors = self.item_factors, self.user_factors
            self._solver = solver
        rows = sp.csr_matrix(histories, dtype=np.float32)
        with threadpool_limits(1, "blas"):
            factors = solver.recalculate_user(np.arange(rows.shape[0]), rows)
        return np.asarray(factors, dtype=np.float32).reshape(rows.shape[0], -1)

    def score_histories(self, histories: sp.csr_matrix) -> np.ndarray:
        return self.fold_in(histories) @ self.item_factors.T

    def user_vectors(self, user_indices: np.ndarray) -> np.ndarray:
        return self.user_factors[user_indices]

    def item_vectors(self) -> np.ndarray:
        return self.item_factors

    def unit_item_factors(self) -> np.ndarray:
        """The item factors scaled to unit length (cosine similarity), computed once per factor matrix."""
        cached = getattr(self, "_unit", None)
        if cached is None or cached[0] is not self.item_factors:
            norms = np.linalg.norm(self.item_factors, axis=1) + 1e-12
            self._unit = (self.item_factors, (self.item_factors / norms[:, None]).astype(np.float32))
        return self._unit[1]

    def similar_items(self, item_indices, k: int):
        self._check_fitted()
        unit = self.unit_item_factors()
        item_indices = np.asarray(item_indices)
        sims = unit[item_indices] @ unit.T
        sims[np.arange(len(item_indices)), item_indices] = -np.inf
        return top_k(sims, k)

    def _arrays(self):
        return {"user_factors": self.user_factors, "item_factors": self.item_factors}

    def _restore(self, arrays):
        self.user_factors, self.item_factors = arrays["user_factors"], arrays["item_factors"]
