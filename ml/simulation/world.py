"""Simulated users who answer what the service shows them as the synthetic generator's hidden truth
says: every shown item is an impression that runs down the generator's own funnel
(``ml.ingest.synthetic.truth.funnel``: view, click, add to cart, purchase by the true affinity and the
price), so the truth behind the online figures is known. Seeded: the same day draws the same users and
the same answers to the same lists."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ml.ingest.synthetic.truth import GroundTruth, funnel, price_z

STEPS = ("view", "click", "add_to_cart", "purchase")


@dataclass
class World:
    truth: GroundTruth
    items: pd.DataFrame  # the catalogue (item_id, price)
    users: np.ndarray  # the ids that visit: users the served models know
    seed: int = 0

    def __post_init__(self) -> None:
        self.user_rows = pd.Index(self.truth.user_ids)
        self.item_rows = pd.Index(self.truth.item_ids)
        z = pd.Series(price_z(self.items["price"].to_numpy(np.float64)), index=self.items["item_id"].to_numpy())
        self.price_z = z.reindex(self.truth.item_ids).fillna(0.0).to_numpy()

    def visitors(self, day: int, n: int) -> list[int]:
        """The users who visit on ``day`` (distinct, seeded by the day)."""
        rng = np.random.default_rng([self.seed, day])
        return [int(u) for u in rng.choice(self.users, size=min(n, len(self.users)), replace=False)]

    def respond(self, day: int, user_id: int, item_ids: list[int]) -> list[dict]:
        """The events a visitor sends about a list shown to them (none for an item outside the truth)."""
        rows = self.item_rows.get_indexer(item_ids)
        known = rows >= 0
        if not known.any():
            return []
        rows, shown = rows[known], np.asarray(item_ids)[known]
        affinity = self.truth.affinity(np.array([self.user_rows.get_loc(user_id)]), rows)[0]
        steps = funnel(affinity, self.price_z[rows])
        rng = np.random.default_rng([self.seed, day, user_id])
        reached = np.ones(len(rows), dtype=bool)
        events = []
        for name, p in zip(STEPS, steps, strict=True):
            reached &= rng.random(len(rows)) < p
            events += [{"user_id": user_id, "item_id": int(i), "event_type": name} for i in shown[reached]]
        return events
