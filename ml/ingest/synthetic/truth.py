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
    """True affinity ``a(u, i) = user_vectors[u] . item_vectors[i]`` and true impression click probabilities;
    with order, each item's successor (row) and how much more a user likes an item right after viewing
    its predecessor (``transition_boost``; ``successor`` empty without order)."""

    user_ids: np.ndarray
    item_ids: np.ndarray
    user_vectors: np.ndarray
    item_vectors: np.ndarray
    impression_event_ids: np.ndarray
    click_probability: np.ndarray
    successor: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    transition_boost: float = 0.0

    def next_boost(self, last_rows: np.ndarray, item_rows: np.ndarray) -> np.ndarray:
        """The affinity bonus of ``item_rows`` for users whose last viewed item is ``last_rows`` (-1: none):
        ``transition_boost`` where the item is the successor of the last one (users x items)."""
        out = np.zeros((len(last_rows), len(item_rows)), dtype=np.float32)
        if len(self.successor) == 0:
            return out
        last_rows = np.asarray(last_rows)
        nxt = np.where(last_rows >= 0, self.successor[np.maximum(last_rows, 0)], -1)
        out[nxt[:, None] == np.asarray(item_rows)[None, :]] = self.transition_boost
        return out

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
        with np.load(path) as f:  # a truth saved before order existed has no successor: no order
            values = {field.name: f[field.name] for field in dataclasses.fields(cls) if field.name in f.files}
        if "transition_boost" in values:
            values["transition_boost"] = float(values["transition_boost"])
        return cls(**values)


@dataclass
class SyntheticData:
    users: pd.DataFrame
    items: pd.DataFrame
    events: pd.DataFrame
    ground_truth: GroundTruth
