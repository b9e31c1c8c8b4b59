"""Two-tower retrieval: user and item towers (ID embedding + categorical embeddings + scaled numeric
features -> MLP -> L2-normalised vector), dot-product score, sampled softmax loss.

Each batch of (user, item) train interactions is scored against the batch's items plus extra
negatives shared by the batch. Negative strategies: ``random`` (uniform over the catalogue),
``hard`` (drawn by popularity; pairs the user interacted with are masked out, so they are popular
items the user has *not* seen) and ``mixed`` (half each). Every logit gets the logQ correction
``-log q(item)`` for the probability with which that item entered the softmax (in-batch items by
their frequency among train pairs; negatives by their sampling distribution), which removes the
popularity bias of sampled softmax. The ID is dropped to an "unknown" slot with probability
``id_dropout`` during training, so users without history (cold start) are embedded from their
features alone. After fit, user and item embeddings are precomputed: retrieval is an exact
matrix product in batches (``Recommender.recommend``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch
import torch.nn.functional as F

from ml.artifacts import loader
from ml.feature_sets import FeatureSet, declared
from ml.hyperparams import one_of, param
from ml.neural import (
    TabularEncoder,
    epoch_orders,
    epoch_size,
    history_from_array,
    history_to_array,
    mlp,
    record_epoch,
    seed_everything,
)
from ml.progress import Progress
from ml.recommenders.base import Embedding, ItemSimilarity, Recommender, top_k
from ml.recommenders.sampled_softmax import NEGATIVE_STRATEGIES, sample_negatives, sampled_softmax_loss, seen_mask


class Tower(torch.nn.Module):
    def __init__(
        self, n_ids: int, cardinalities: list[int], n_numeric: int, id_dim: int, cat_dim: int, hidden: int, out_dim: int
    ) -> None:
        super().__init__()
        self.unknown_id = n_ids
        self.ids = torch.nn.Embedding(n_ids + 1, id_dim)
        self.cats = torch.nn.ModuleList(torch.nn.Embedding(c, cat_dim) for c in cardinalities)
        width = id_dim + cat_dim * len(cardinalities) + n_numeric
        self.body = torch.nn.Sequential(mlp([width, hidden]), torch.nn.Linear(hidden, out_dim))

    def forward(self, ids: torch.Tensor, cats: torch.Tensor, nums: torch.Tensor) -> torch.Tensor:
        parts = [self.ids(ids)] + [emb(cats[:, j]) for j, emb in enumerate(self.cats)] + [nums]
        return F.normalize(self.body(torch.cat(parts, dim=1)), dim=1)


@dataclass(frozen=True)
class TwoTowerParams:
    embedding_dim: int = param(32, "size of the user/item embeddings (output of each tower)")
    hidden: int = param(64, "hidden units of each tower's MLP")
    epochs: int = param(15, "training epochs")
    examples_per_epoch: int = param(
        100_000, "train interactions per epoch at most (0: all); larger data is covered over several epochs"
    )
    batch_size: int = param(512, "interactions per batch (in-batch negatives)")
    negatives: str = param("mixed", "extra negatives: random (uniform), hard (popular, unseen) or mixed")
    n_negatives: int = param(256, "extra negatives shared by a batch")
    learning_rate: float = param(3e-3, "AdamW learning rate")
    temperature: float = param(0.1, "softmax temperature of the dot-product scores")
    id_dropout: float = param(0.1, "share of training rows whose user ID is hidden (teaches cold start)")
    seed: int = param(42, "seed of torch, numpy and the samplers")

    def __post_init__(self) -> None:
        one_of(self, "negatives", NEGATIVE_STRATEGIES)


@loader("two_tower")
class TwoTowerRecommender(Recommender, ItemSimilarity, Embedding):
    name = "two_tower"
    cold_start_from_features = True
    Params = TwoTowerParams

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.history: list[dict] = []

    def fit(
        self,
        interactions: sp.csr_matrix,
        user_features: pd.DataFrame | None = None,
        item_features: pd.DataFrame | None = None,
        log: Callable[[str], None] | None = None,
        on_epoch: Callable[[TwoTowerRecommender], bool | None] | None = None,
        features: dict[str, FeatureSet] | None = None,
        **side,
    ) -> TwoTowerRecommender:
        """Train for ``epochs``; ``on_epoch(self)`` after each epoch sees the model as it is then
        (embeddings computed) and stops the training by returning True, which is how tuning picks the
        number of epochs on validation. The towers
        take the features the user and item marts declare for the two-tower (``features``, by mart)."""
        if user_features is None or item_features is None:
            raise ValueError("two_tower needs user_features and item_features (the dbt feature marts)")
        user_set, item_set = (declared(features, mart, self.name) for mart in ("user_features", "item_features"))
        self.features = {"user_features": user_set, "item_features": item_set}
        p = self.params
        gen = seed_everything(p["seed"])
        rng = np.random.default_rng(p["seed"])
        train = sp.csr_matrix(interactions)
        self.n_users, self.n_items = train.shape
        self.user_encoder = TabularEncoder(user_set.numeric, user_set.categorical).fit(user_features)
        self.item_encoder = TabularEncoder(item_set.numeric, item_set.categorical).fit(item_features)
        u_num, u_cat = (torch.from_numpy(a) for a in self.user_encoder.transform(user_features))
        i_num, i_cat = (torch.from_numpy(a) for a in self.item_encoder.transform(item_features))
        user_tower = Tower(
            self.n_users,
            self.user_encoder.cardinalities,
            len(user_set.numeric),
            p["embedding_dim"],
            8,
            p["hidden"],
            p["embedding_dim"],
        )
        item_tower = Tower(
            self.n_items,
            self.item_encoder.cardinalities,
            len(item_set.numeric),
            p["embedding_dim"],
            8,
            p["hidden"],
            p["embedding_dim"],
        )
        params = list(user_tower.parameters()) + list(item_tower.parameters())
        # fused: one kernel per step; the default loops over the whole ID tables (most of an epoch's time)
        opt = torch.optim.AdamW(params, lr=p["learning_rate"], weight_decay=1e-5, fused=True)

        coo = train.tocoo()
        pair_users, pair_items = coo.row.astype(np.int64), coo.col.astype(np.int64)
        item_freq = np.bincount(pair_items, minlength=self.n_items).astype(np.float64)
        log_q_batch = torch.from_numpy(np.log(np.maximum(item_freq, 1.0) / item_freq.sum()).astype(np.float32))
        users_per_item = np.asarray((train > 0).sum(axis=0)).ravel().astype(np.float64) + 1.0
        popularity_p = users_per_item / users_per_item.sum()
        tau = p["temperature"]
        self.history = []
        per_epoch = epoch_size(len(pair_users), p["examples_per_epoch"])
        progress = Progress("two_tower training", p["epochs"] * per_epoch, log, unit="examples")
        orders = epoch_orders(len(pair_users), p["examples_per_epoch"], p["epochs"], rng.permutation)
        for order in orders:
            t0 = time.perf_counter()
            total, batches = 0.0, 0
            for lo in range(0, len(order), p["batch_size"]):
                b = order[lo : lo + p["batch_size"]]
                bu, bi = pair_users[b], pair_items[b]
                ids_u = torch.from_numpy(bu)
                drop = torch.rand(len(b), generator=gen) < p["id_dropout"]
                ids_u = torch.where(drop, torch.full_like(ids_u, self.n_users), ids_u)
                ue = user_tower(ids_u, u_cat[bu], u_num[bu])
                ie = item_tower(torch.from_numpy(bi), i_cat[bi], i_num[bi])
                negs, neg_p = sample_negatives(p["negatives"], p["n_negatives"], popularity_p, rng)
                ne = item_tower(torch.from_numpy(negs), i_cat[negs], i_num[negs])
                loss = sampled_softmax_loss(
                    ue,
                    ie,
                    ne,
                    log_q_batch[torch.from_numpy(bi)],
                    torch.from_numpy(np.log(neg_p).astype(np.float32)),
                    torch.from_numpy(bi),
                    torch.from_numpy(seen_mask(train, bu, negs)),
                    tau,
                )
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += float(loss.detach())
                batches += 1
                progress.update(len(b))
            record_epoch(self.history, self.name, p["epochs"], total / max(batches, 1), t0, log)
            if on_epoch is not None:
                self._embed(train, user_tower, item_tower, (u_cat, u_num), (i_cat, i_num))
                if on_epoch(self):  # the caller has seen enough epochs
                    break
        progress.finish()
        self._embed(train, user_tower, item_tower, (u_cat, u_num), (i_cat, i_num))
        return self

    def _embed(self, train: sp.csr_matrix, user_tower, item_tower, user_inputs, item_inputs) -> None:
        """The user and item embeddings of the towers as they are (users without history: features only)."""
        with torch.no_grad():
            user_ids = torch.arange(self.n_users)
            cold = torch.from_numpy(np.diff(train.indptr) == 0)
            user_ids = torch.where(cold, torch.full_like(user_ids, self.n_users), user_ids)
            self.user_embeddings = user_tower(user_ids, *user_inputs).numpy()
            self.item_embeddings = item_tower(torch.arange(self.n_items), *item_inputs).numpy()

    def score_users(self, user_indices: np.ndarray) -> np.ndarray:
        return self.user_embeddings[user_indices] @ self.item_embeddings.T

    def user_vectors(self, user_indices: np.ndarray) -> np.ndarray:
        return self.user_embeddings[user_indices]

    def item_vectors(self) -> np.ndarray:
        return self.item_embeddings

    def similar_items(self, item_indices, k: int):
        self._check_fitted()
        item_indices = np.asarray(item_indices)
        sims = self.item_embeddings[item_indices] @ self.item_embeddings.T
        sims[np.arange(len(item_indices)), item_indices] = -np.inf
        return top_k(sims, k)

    def _arrays(self):
        return {
            "user_embeddings": self.user_embeddings,
            "item_embeddings": self.item_embeddings,
            "history": history_to_array(self.history),
        }

    def _restore(self, arrays):
        self.user_embeddings, self.item_embeddings = arrays["user_embeddings"], arrays["item_embeddings"]
        self.history = history_from_array(arrays["history"])
