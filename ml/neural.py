"""Shared pieces of the torch models: seeding, tabular feature encoding, array (de)serialisation."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch


def epoch_size(n: int, per_epoch: int) -> int:
    """Examples in an epoch of :func:`epoch_orders`."""
    return min(per_epoch or n, n)


def epoch_orders(
    n: int, per_epoch: int, epochs: int, permutation: Callable[[int], np.ndarray], repeat: bool = False
) -> Iterator[np.ndarray]:
    """The examples of each epoch, in order: the next ``per_epoch`` examples of a stream of shuffled
    passes, so every example is seen once before any is seen twice and an epoch's cost stops growing
    with the data. When ``per_epoch`` is 0 or at least ``n``, an epoch is one whole pass, unless
    ``repeat``: then it is always ``per_epoch`` examples, from as many passes as it takes (small data
    seen several times an epoch). ``permutation(n)`` shuffles (the caller's seeded generator)."""
    if not repeat and (not per_epoch or per_epoch >= n):
        for _ in range(epochs):
            yield permutation(n)
        return
    stream = np.zeros(0, dtype=np.int64)
    for _ in range(epochs):
        while len(stream) < per_epoch:
            stream = np.concatenate([stream, permutation(n)])
        yield stream[:per_epoch]
        stream = stream[per_epoch:]


def seed_everything(seed: int) -> torch.Generator:
    """Seed python, numpy and torch and switch torch to deterministic algorithms (CPU)."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)
    return torch.Generator().manual_seed(seed)


@dataclass
class TabularEncoder:
    """Numeric columns: signed log1p, then standardised (missing -> 0 = the mean). Categorical
    columns: a vocabulary learned at fit time, index 0 for unknown or missing values."""

    numeric: list[str]
    categorical: list[str]
    means: dict[str, float] = field(default_factory=dict)
    stds: dict[str, float] = field(default_factory=dict)
    vocab: dict[str, list[str]] = field(default_factory=dict)

    def fit(self, frame: pd.DataFrame) -> TabularEncoder:
        missing = [c for c in self.numeric + self.categorical if c not in frame.columns]
        if missing:
            raise KeyError(f"feature columns missing from the mart: {missing}; rebuild the dbt marts")
        for col in self.numeric:
            x = self._squash(frame[col])
            self.means[col] = float(np.nanmean(x)) if np.isfinite(x).any() else 0.0
            std = float(np.nanstd(x)) if np.isfinite(x).any() else 1.0
            self.stds[col] = std if std > 0 else 1.0
        for col in self.categorical:
            self.vocab[col] = sorted(frame[col].dropna().astype(str).unique().tolist())
        return self

    @staticmethod
    def _squash(series: pd.Series) -> np.ndarray:
        x = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64)
        return np.sign(x) * np.log1p(np.abs(x))

    def transform(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        num = np.zeros((len(frame), len(self.numeric)), dtype=np.float32)
        for j, col in enumerate(self.numeric):
            z = (self._squash(frame[col]) - self.means[col]) / self.stds[col]
            num[:, j] = np.nan_to_num(z, nan=0.0)
        cat = np.zeros((len(frame), len(self.categorical)), dtype=np.int64)
        for j, col in enumerate(self.categorical):
            index = pd.Index(self.vocab[col])
            cat[:, j] = index.get_indexer(frame[col].astype(str)) + 1  # -1 (unknown) -> 0
            cat[frame[col].isna().to_numpy(), j] = 0
        return num, cat

    @property
    def cardinalities(self) -> list[int]:
        return [len(self.vocab[c]) + 1 for c in self.categorical]

    def to_dict(self) -> dict:
        return {
            "numeric": self.numeric,
            "categorical": self.categorical,
            "means": self.means,
            "stds": self.stds,
            "vocab": self.vocab,
        }

    @classmethod
    def from_dict(cls, d: dict) -> TabularEncoder:
        return cls(**d)


def record_epoch(
    history: list[dict], model: str, epochs: int, loss: float, started: float, log: Callable[[str], None] | None
) -> dict:
    """Append the record of the epoch just finished (its number, mean loss, seconds) and log it."""
    record = {"epoch": len(history) + 1, "loss": loss, "seconds": time.perf_counter() - started}
    history.append(record)
    if log:
        log(f"{model} epoch {record['epoch']}/{epochs}: loss {record['loss']:.4f}")
    return record


def history_to_array(history: list[dict]) -> np.ndarray:
    """Per-epoch records as bytes of JSON, to travel in a model's arrays.npz."""
    return np.frombuffer(json.dumps(history).encode(), dtype=np.uint8)


def history_from_array(array: np.ndarray) -> list[dict]:
    return json.loads(array.tobytes().decode())


def state_to_arrays(module: torch.nn.Module, prefix: str = "state.") -> dict[str, np.ndarray]:
    return {prefix + k: v.detach().cpu().numpy() for k, v in module.state_dict().items()}


def arrays_to_state(module: torch.nn.Module, arrays: dict[str, np.ndarray], prefix: str = "state.") -> None:
    state = {k[len(prefix) :]: torch.from_numpy(np.asarray(v)) for k, v in arrays.items() if k.startswith(prefix)}
    module.load_state_dict(state)


def mlp(sizes: list[int], dropout: float = 0.0) -> torch.nn.Sequential:
    layers: list[torch.nn.Module] = []
    for a, b in zip(sizes[:-1], sizes[1:], strict=True):
        layers += [torch.nn.Linear(a, b), torch.nn.ReLU()]
        if dropout:
            layers.append(torch.nn.Dropout(dropout))
    return torch.nn.Sequential(*layers)
