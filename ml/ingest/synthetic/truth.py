"""The synthetic generator's ground truth: true affinities and every impression's click probability."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def funnel(affinity: np.ndarray, price_z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """How a user responds to an item shown to them, by the true affinity and the item's price (z-score
    of log price over the catalogue): P(view), P(click | view), P(add_to_cart | click), P(purchase |
    add_to_cart). The generator draws its funnel from it, and so does the simulated world (recsys-simulate)."""
    return (
        sigmoid(-2.2 + 1.0 * affinity),
        sigmoid(-1.2 + 1.0 * affinity),
        sigmoid(-1.8 + 0.8 * affinity),
        sigmoid(-1.0 + 0.6 * affinity - 0.3 * price_z),
    )


def price_z(price: np.ndarray) -> np.ndarray:
    """The z-score of log price over the catalogue, as the funnel takes it."""
    log_price = np.log(price)
    return (log_price - log_price.mean()) / log_price.std()


@dataclass
class GroundTruth:
    """True affinity ``a(u, i) = user_vectors[u] . item_vectors[i]`` and true impression click probabilities."""

    user_ids: np.ndarray
    item_ids: np.ndarray
    user_vectors: np.ndarray
    item_vectors: np.ndarray
    impression_event_ids: np.ndarray
    click_probability: np.ndarray

    def affinity(self, user_rows: np.ndarray, item_rows: np.ndarray | None = None) -> np.ndarray:
        """Affinity of the given users (row positions in ``user_ids``) to all or the given items."""
        items = self.item_vectors if item_rows is None else self.item_vectors[item_rows]
        return self.user_vectors[user_rows] @ items.T

    def save(self, path: str | Path) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(path, **dataclasses.asdict(self))

    @classmethod
    def load(cls, path: str | Path) -> GroundTruth:
        with np.load(path) as f:
            return cls(**{field.name: f[field.name] for field in dataclasses.fields(cls)})


@dataclass
class SyntheticData:
    users: pd.DataFrame
    items: pd.DataFrame
    events: pd.DataFrame
    ground_truth: GroundTruth
