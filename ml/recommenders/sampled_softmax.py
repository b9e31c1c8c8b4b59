"""Sampled softmax with logQ correction for retrieval towers: shared negatives (random, hard or mixed)
and the loss over in-batch items plus those negatives."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F

NEGATIVE_STRATEGIES = ("random", "hard", "mixed")


def sample_negatives(strategy: str, n: int, popularity_p: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``n`` shared negatives; returns (item indices, probability each was drawn with)."""
    n_items = len(popularity_p)
    uniform = np.full(n_items, 1.0 / n_items)
    if strategy == "random":
        p = uniform
    elif strategy == "hard":
        p = popularity_p
    elif strategy == "mixed":
        p = 0.5 * uniform + 0.5 * popularity_p
    else:
        raise ValueError(f"negatives must be one of {NEGATIVE_STRATEGIES}, got {strategy!r}")
    items = rng.choice(n_items, size=n, p=p)
    return items, p[items]


def sampled_softmax_loss(
    user_emb: torch.Tensor,
    item_emb: torch.Tensor,
    neg_emb: torch.Tensor,
    log_q_items: torch.Tensor,
    log_q_negs: torch.Tensor,
    item_ids: torch.Tensor,
    neg_seen: torch.Tensor,
    temperature: float,
) -> torch.Tensor:
    """Cross-entropy of each user's positive item against the batch's other items and the shared
    negatives, with logQ correction. Other rows holding the same item as the positive, and
    negatives the user interacted with (``neg_seen``), are masked out of the softmax."""
    logits_b = user_emb @ item_emb.T / temperature - log_q_items[None, :]
    same_item = (item_ids[:, None] == item_ids[None, :]) & ~torch.eye(len(item_ids), dtype=torch.bool)
    logits_b = logits_b.masked_fill(same_item, float("-inf"))
    logits_n = (user_emb @ neg_emb.T / temperature - log_q_negs[None, :]).masked_fill(neg_seen, float("-inf"))
    return F.cross_entropy(torch.cat([logits_b, logits_n], dim=1), torch.arange(len(item_ids)))


def seen_mask(train: sp.csr_matrix, users: np.ndarray, items: np.ndarray) -> np.ndarray:
    """Boolean (len(users) x len(items)): did the user interact with the item in train?"""
    sub = train[users][:, items]
    return sub.toarray() > 0
