"""The generator's configuration and vocabularies."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# the event types the generator emits: the funnel every impression runs down (the dbt var event_weights
# must name them, a test checks it)
FUNNEL = ("impression", "view", "click", "add_to_cart", "purchase")

CATEGORIES = (
    "electronics",
    "books",
    "fashion",
    "home",
    "sports",
    "beauty",
    "toys",
    "grocery",
    "garden",
    "music",
    "games",
    "auto",
)
COUNTRIES = ("US", "DE", "FR", "GB", "BR", "IN", "JP", "ES")
COUNTRY_P = (0.30, 0.14, 0.10, 0.12, 0.10, 0.12, 0.07, 0.05)
SEGMENTS = ("budget", "mainstream", "premium")
SEGMENT_PRICE_PREF = (-0.6, 0.0, 0.6)
AGE_BANDS = ("18-24", "25-34", "35-44", "45-54", "55+")
# share of sessions starting in each hour of the day: night trough, lunch bump, evening peak
HOUR_PROFILE = np.array([1, 0.6, 0.4, 0.3, 0.3, 0.5, 1, 2, 3, 3.5, 3.5, 4, 5, 4.5, 4, 4, 4.5, 5, 6, 7.5, 8, 7, 5, 2.5])
WEEKEND_BOOST = 1.3
SEEDS_DIR = Path(__file__).resolve().parents[2] / "dbt_project" / "seeds"
SAMPLE_GROUND_TRUTH = Path(__file__).resolve().parents[2] / "data" / "sample" / "ground_truth.npz"


@dataclass(frozen=True)
class SyntheticConfig:
    """Scale and shape of a synthetic dataset. The defaults give the committed sample."""

    n_users: int = 1500
    n_items: int = 1000
    n_days: int = 60
    start_date: str = "2026-01-01"
    seed: int = 42
    n_factors: int = 8
    sessions_per_user_day: float = 0.09
    impressions_per_session: int = 8
    personalised_exposure: float = 0.5
    new_item_share: float = 0.2
    new_user_share: float = 0.15
    zipf_exponent: float = 1.0
    dirty_share: float = 0.0

    @classmethod
    def for_events(cls, n_events: int, **overrides) -> SyntheticConfig:
        """A configuration sized to produce roughly ``n_events`` events (more users, same behaviour)."""
        base = cls(**overrides)
        # measured: about 2.15 events per impression slot at scale (funnel events included, late signups excluded)
        per_user = 2.15 * base.n_days * base.sessions_per_user_day * base.impressions_per_session
        n_users = overrides.get("n_users") or max(1000, int(n_events / per_user))
        n_items = overrides.get("n_items") or max(1000, n_users // 10)
        return dataclasses.replace(base, n_users=n_users, n_items=n_items)
