"""SASRec (Kang & McAuley, 2018): next-item recommendation by causal self-attention over a user's last
steps, trained from the ordered steps of marts.user_sequences (``sequences``, the train window's).

Each pass takes, per user, a window of ``max_len + 1`` consecutive steps and learns every step's
next item: full softmax over the catalogue (``loss=full``) or, for large catalogues, sampled softmax
over shared negatives drawn by popularity with the logQ correction (``loss=sampled``; ``auto``
chooses by catalogue size). Item vectors are the output table too (shared, as in the paper) and take
the item features the mart declares for ``sasrec`` (optional). A user is scored by the hidden state
after their latest step: an inner product with the item vectors (:class:`Embedding`, so the ANN index
serves it). At request time the events logged since training continue the user's sequence
(:class:`SequenceFoldIn`): the next list follows the latest item, for new users too.
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

from ml import columns as C
from ml.artifacts import loader
from ml.errors import CannotTrain
from ml.feature_sets import FeatureSet
from ml.hyperparams import one_of, param
from ml.neural import (
    TabularEncoder,
    arrays_to_state,
    epoch_orders,
    history_from_array,
    history_to_array,
    record_epoch,
    seed_everything,
    state_to_arrays,
)
from ml.progress import Progress
from ml.recommenders.base import Embedding, ItemSimilarity, Recommender, SequenceFoldIn, top_k
from ml.recommenders.sequence_net import (
    PAD,
    ItemTable,
    SequenceEncoder,
    left_padded,
    length_batches,
    next_step_loss,
    training_windows,
)

LOSSES = ("auto", "full", "sampled")
FULL_SOFTMAX_MAX_ITEMS = 5_000  # loss=auto: the full softmax up to this catalogue size (logits: steps x items)


@dataclass(frozen=True)
class SASRecParams:
    embedding_dim: int = param(64, "size of the item vectors and hidden states")
    max_len: int = param(50, "the latest steps of a user the model reads")
    n_blocks: int = param(2, "self-attention blocks")
    n_heads: int = param(2, "attention heads (embedding_dim must be divisible by it)")
    dropout: float = param(0.2, "dropout of the embeddings and the blocks")
    epochs: int = param(30, "epochs of windows_per_epoch windows (tuning chooses fewer on validation)")
    windows_per_epoch: int = param(1_000, "training windows per epoch, a user's each; every user once before any twice")
    batch_size: int = param(128, "users per batch")
    learning_rate: float = param(3e-3, "AdamW learning rate")
    loss: str = param("auto", "full (softmax over every item), sampled (logQ-corrected negatives) or auto (by size)")
    n_negatives: int = param(512, "shared negatives per batch of the sampled softmax")
    seed: int = param(42, "seed of torch, numpy and the window sampler")

    def __post_init__(self) -> None:
        one_of(self, "loss", LOSSES)
        if self.embedding_dim % self.n_heads:
            raise ValueError(f"embedding_dim ({self.embedding_dim}) must be divisible by n_heads ({self.n_heads})")


def user_steps(sequences: pd.DataFrame, n_users: int) -> list[np.ndarray]:
    """Each user's item indices in step order (empty for users without steps)."""
    ordered = sequences.sort_values([C.USER_IDX, C.POSITION], kind="stable")
    users, items = ordered[C.USER_IDX].to_numpy(), ordered[C.ITEM_IDX].to_numpy(np.int64)
    bounds = np.searchsorted(users, np.arange(n_users + 1))
    return [items[bounds[u] : bounds[u + 1]] for u in range(n_users)]


@loader("sasrec")
class SASRecRecommender(Recommender, Embedding, ItemSimilarity, SequenceFoldIn):
    name = "sasrec"
    Params = SASRecParams
    reads_sequences = True

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.history: list[dict] = []

    def fit(
        self,
        interactions: sp.csr_matrix,
        sequences: pd.DataFrame | None = None,
        item_features: pd.DataFrame | None = None,
        features: dict[str, FeatureSet] | None = None,
        log: Callable[[str], None] | None = None,
        on_epoch: Callable[[SASRecRecommender], bool | None] | None = None,
        **side,
    ) -> SASRecRecommender:
        if sequences is None or sequences.empty:
            raise CannotTrain("sasrec learns from the ordered steps of marts.user_sequences, and none were given")
        p = self.params
        gen, rng = seed_everything(p["seed"]), np.random.default_rng(p["seed"])
        self.n_users, self.n_items = interactions.shape
        steps = user_steps(sequences, self.n_users)
        item_set = (features or {}).get("item_features", FeatureSet("item_features")).for_model(self.name)
        self.features = {"item_features": item_set} if item_set.features else {}
        encoder = TabularEncoder(item_set.numeric, item_set.categorical)
        side_inputs = (torch.zeros(self.n_items, 0, dtype=torch.long), torch.zeros(self.n_items, 0))
        if item_set.features and item_features is not None:
            nums, cats = encoder.fit(item_features).transform(item_features)
            side_inputs = (torch.from_numpy(cats), torch.from_numpy(nums))
        self.table_net = ItemTable(self.n_items, p["embedding_dim"], encoder.cardinalities, len(item_set.numeric))
        self.encoder = SequenceEncoder(p["embedding_dim"], p["max_len"], p["n_blocks"], p["n_heads"], p["dropout"])
        modules = torch.nn.ModuleList([self.table_net, self.encoder])
        opt = torch.optim.AdamW(modules.parameters(), lr=p["learning_rate"], weight_decay=1e-4)
        sampled = p["loss"] == "sampled" or (p["loss"] == "auto" and self.n_items > FULL_SOFTMAX_MAX_ITEMS)
        counts = np.bincount(np.concatenate([s for s in steps if len(s)]), minlength=self.n_items) + 1.0
        q = counts**0.75 / (counts**0.75).sum()  # the negatives' sampling distribution (log q corrects for it)
        log_q = torch.from_numpy(np.log(q).astype(np.float32))
        trainable = [s for s in steps if len(s) >= 2]
        draws = epoch_orders(len(trainable), p["windows_per_epoch"], p["epochs"], rng.permutation, repeat=True)
        progress = Progress("sasrec training", p["epochs"] * p["windows_per_epoch"], log, unit="windows")
        self.history = []
        for epoch, chosen in enumerate(draws):
            t0, total, batches = time.perf_counter(), 0.0, 0
            modules.train()
            inputs, targets = training_windows([trainable[i] for i in chosen], p["max_len"], rng)
            for rows in length_batches(inputs, p["batch_size"], rng):
                x, y = torch.from_numpy(inputs[rows]), torch.from_numpy(targets[rows])
                table = self.table_net(*side_inputs)
                negatives = torch.multinomial(torch.from_numpy(q), p["n_negatives"], True, generator=gen) if sampled else None
                loss = next_step_loss(self.encoder(x, table), y, table, negatives, log_q if sampled else None)
                opt.zero_grad()
                loss.backward()
                opt.step()
                total, batches = total + float(loss.detach()), batches + 1
                progress.update(len(x))
            record_epoch(self.history, self.name, p["epochs"], total / max(batches, 1), t0, log)
            if on_epoch is not None or epoch == p["epochs"] - 1:
                self._embed(steps, side_inputs)
            if on_epoch is not None and on_epoch(self):  # the caller (tuning) has seen enough epochs
                break
        progress.finish()
        return self

    def _embed(self, steps: list[np.ndarray], side_inputs) -> None:
        """The item table, each user's latest steps and the hidden state after them, as they are now."""
        with torch.no_grad():
            self.table_net.eval()
            self.item_table = self.table_net(*side_inputs).detach().numpy().astype(np.float32)
        self.recent = left_padded(steps, self.params["max_len"]).astype(np.int32)
        self.user_embeddings = self._hidden(self.recent)

    def _hidden(self, recent: np.ndarray, batch: int = 256) -> np.ndarray:
        """The hidden state after the last step of each left-padded row (zeros for an empty row). Rows
        go in batches of similar length, each cut to its longest row: the cut columns are padding that
        no step attends to, so short histories cost short attention (as in training)."""
        self.encoder.eval()
        out = np.zeros((len(recent), self.params["embedding_dim"]), dtype=np.float32)
        table = torch.from_numpy(self.item_table)
        lengths = (recent != PAD).sum(axis=1)
        order = np.argsort(lengths, kind="stable")
        order = order[lengths[order] > 0]
        with torch.no_grad():
            for lo in range(0, len(order), batch):
                rows = order[lo : lo + batch]
                steps = torch.from_numpy(recent[rows, recent.shape[1] - int(lengths[rows].max()) :].astype(np.int64))
                out[rows] = self.encoder(steps, table)[:, -1].numpy()
        return out

    def score_users(self, user_indices: np.ndarray) -> np.ndarray:
        return self.user_embeddings[user_indices] @ self.item_table.T

    def score_continued(self, user_rows: np.ndarray, continuations: list[np.ndarray]) -> np.ndarray:
        sequences = []
        for row, more in zip(np.asarray(user_rows), continuations, strict=True):
            trained = self.recent[row][self.recent[row] != PAD] if row >= 0 else np.zeros(0, dtype=np.int32)
            sequences.append(np.concatenate([trained, np.asarray(more, dtype=np.int32)]))
        return self._hidden(left_padded(sequences, self.params["max_len"])) @ self.item_table.T

    def user_vectors(self, user_indices: np.ndarray) -> np.ndarray:
        return self.user_embeddings[user_indices]

    def item_vectors(self) -> np.ndarray:
        return self.item_table

    def similar_items(self, item_indices, k: int):
        """The items most likely next after each item alone (a one-step sequence)."""
        self._check_fitted()
        item_indices = np.asarray(item_indices)
        scores = self._hidden(left_padded([np.array([i]) for i in item_indices], self.params["max_len"])) @ self.item_table.T
        scores[np.arange(len(item_indices)), item_indices] = -np.inf
        return top_k(scores, k)

    def _arrays(self):
        return {
            "item_table": self.item_table,
            "user_embeddings": self.user_embeddings,
            "recent": self.recent,
            "history": history_to_array(self.history),
            **state_to_arrays(self.encoder),
        }

    def _restore(self, arrays):
        p = self.params
        self.item_table, self.user_embeddings, self.recent = arrays["item_table"], arrays["user_embeddings"], arrays["recent"]
        self.history = history_from_array(arrays["history"])
        self.encoder = SequenceEncoder(p["embedding_dim"], p["max_len"], p["n_blocks"], p["n_heads"], p["dropout"])
        arrays_to_state(self.encoder, arrays)
        self.encoder.eval()
