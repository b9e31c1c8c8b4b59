"""The networks of the sequential recommender (``ml.recommenders.sasrec``) and the batches it reads.

- :class:`ItemTable`: one vector per item, its ID embedding, concatenated with its declared item
  features (categorical embeddings, scaled numbers) and projected back when there are any.
- :class:`SequenceEncoder`: SASRec's causal self-attention over the item vectors of a user's last
  ``max_len`` steps (learned positions, pre-norm transformer blocks from ``torch.nn``): the hidden state
  at step t summarises steps 1..t and scores step t + 1 by its inner product with the item table.

Sequences are left-padded with -1 to ``max_len``: the latest step is always at the last position.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

PAD = -1


class ItemTable(torch.nn.Module):
    def __init__(self, n_items: int, dim: int, cardinalities: list[int], n_numeric: int) -> None:
        super().__init__()
        self.ids = torch.nn.Embedding(n_items, dim)
        torch.nn.init.normal_(self.ids.weight, std=dim**-0.5)
        self.cats = torch.nn.ModuleList(torch.nn.Embedding(c, 8) for c in cardinalities)
        width = dim + 8 * len(cardinalities) + n_numeric
        self.project = torch.nn.Linear(width, dim) if width > dim else None

    def forward(self, cats: torch.Tensor, nums: torch.Tensor) -> torch.Tensor:
        if self.project is None:
            return self.ids.weight
        parts = [self.ids.weight] + [emb(cats[:, j]) for j, emb in enumerate(self.cats)] + [nums]
        return self.project(torch.cat(parts, dim=1))


class SequenceEncoder(torch.nn.Module):
    def __init__(self, dim: int, max_len: int, n_blocks: int, n_heads: int, dropout: float) -> None:
        super().__init__()
        self.dim, self.n_heads = dim, n_heads
        self.positions = torch.nn.Embedding(max_len, dim)
        layer = torch.nn.TransformerEncoderLayer(
            dim, n_heads, dim_feedforward=2 * dim, dropout=dropout, batch_first=True, norm_first=True, activation="gelu"
        )
        self.blocks = torch.nn.TransformerEncoder(layer, n_blocks, enable_nested_tensor=False)
        self.norm = torch.nn.LayerNorm(dim)
        self.dropout = torch.nn.Dropout(dropout)

    def forward(self, steps: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
        """Hidden states (batch x max_len x dim) of left-padded item index sequences (batch x max_len)."""
        pad = steps == PAD
        batch, length = steps.shape
        x = table[steps.clamp(min=0)] * math.sqrt(self.dim) + self.positions.weight[-length:]
        x = self.dropout(x) * ~pad[..., None]
        # a step sees itself and the real steps before it; a padding step sees only itself (no empty row)
        blocked = torch.ones(length, length, dtype=torch.bool).triu(1)[None] | pad[:, None, :]
        blocked &= ~torch.eye(length, dtype=torch.bool)[None]
        mask = blocked.repeat_interleave(self.n_heads, dim=0)
        return self.norm(self.blocks(x, mask=mask)) * ~pad[..., None]


def left_padded(sequences: list[np.ndarray], max_len: int) -> np.ndarray:
    """The last ``max_len`` steps of each sequence, right-aligned in a (len, max_len) array of PAD."""
    out = np.full((len(sequences), max_len), PAD, dtype=np.int64)
    for row, seq in enumerate(sequences):
        tail = np.asarray(seq[-max_len:], dtype=np.int64)
        if len(tail):
            out[row, max_len - len(tail) :] = tail
    return out


def training_windows(sequences: list[np.ndarray], max_len: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(inputs, targets) of one pass: per sequence of at least two steps, ``max_len + 1`` consecutive
    steps (a random window of a longer history, so that several passes cover it), inputs = all but the
    last, targets = all but the first; both left-padded."""
    windows = []
    for seq in sequences:
        if len(seq) > max_len + 1:
            end = int(rng.integers(max_len + 1, len(seq) + 1))
            seq = seq[end - max_len - 1 : end]
        windows.append(seq)
    return left_padded([w[:-1] for w in windows], max_len), left_padded([w[1:] for w in windows], max_len)


def length_batches(inputs: np.ndarray, batch_size: int, rng: np.random.Generator):
    """Row indices of batches of similar length (sorted by length, the batches in random order), and of
    each batch only the columns where some row has a step: short histories cost short attention."""
    lengths = (inputs != PAD).sum(axis=1)
    order = np.argsort(lengths, kind="stable")
    batches = [order[lo : lo + batch_size] for lo in range(0, len(order), batch_size)]
    for b in rng.permutation(len(batches)):
        rows = batches[b]
        yield np.ix_(rows, np.arange(inputs.shape[1] - int(lengths[rows].max()), inputs.shape[1]))


def next_step_loss(
    hidden: torch.Tensor, targets: torch.Tensor, table: torch.Tensor, negatives: torch.Tensor | None, log_q: torch.Tensor | None
) -> torch.Tensor:
    """Cross-entropy of each real step's next item: against every item (``negatives`` None: full
    softmax) or against shared sampled negatives with the logQ correction (``log_q``: log of each item's
    sampling probability; a negative equal to the target is masked)."""
    real = targets != PAD
    h, y = hidden[real], targets[real]
    if negatives is None:
        return F.cross_entropy(h @ table.T, y)
    assert log_q is not None
    positive = (h * table[y]).sum(dim=1, keepdim=True) - log_q[y][:, None]
    sampled = (h @ table[negatives].T - log_q[negatives][None, :]).masked_fill(y[:, None] == negatives[None, :], float("-inf"))
    logits = torch.cat([positive, sampled], dim=1)
    return F.cross_entropy(logits, torch.zeros(len(y), dtype=torch.long))
