"""Candidates from the generators, their features and labels, for one window (see ``ml.two_stage``)."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ml.feature_sets import FeatureSet, declared
from ml.interactions import user_category_share
from ml.recommenders import ALSRecommender, CatalogueTooLarge, EASERecommender, ItemItemRecommender, PopularityRecommender, Scorer
from ml.two_stage.windows import Window, pair_values

GENERATORS = ("popularity", "item_item", "als", "ease")
REQUIRED_GENERATORS = ("popularity", "item_item", "als")  # EASE is left out above its memory budget


def codes(features: FeatureSet) -> list[str]:
    """The ranker's columns of categorical features: their category codes."""
    return [f"{c}_code" for c in features.categorical]


# item columns the window features need whatever is declared (the pair features and the item's age)
ITEM_INPUTS = ["category", "price", "released_at"]


@dataclass(frozen=True)
class Attributes:
    """The declared user and item features that reach the ranker (``models: [two_stage]`` in the marts'
    yml: time-invariant attributes, since the ranker learns from windows before the split)."""

    users: FeatureSet
    items: FeatureSet

    @classmethod
    def of(cls, features: dict[str, FeatureSet]) -> Attributes:
        return cls(*(declared(features, mart, "two_stage") for mart in ("user_features", "item_features")))

    def groups(self) -> dict[str, list[str]]:
        """The ranker's features by group: the window's (generators, history, pair, exposure) with the
        declared attributes (numeric as they are, categorical as codes) among the item and user ones."""
        return {
            "generators": [f"{g}_{kind}" for g in GENERATORS for kind in ("score", "rank")] + ["n_generators"],
            "item": ["item_users", "item_recent_users", *self.items.numeric, "item_age_days", *codes(self.items)],
            "user": ["user_items", "user_weight", *self.users.numeric, *codes(self.users)],
            "pair": ["user_category_share", "user_price_ratio"],
            "exposure": ["pair_impressions", "pair_recent_impressions", "item_impressions"],
        }

    @property
    def features(self) -> list[str]:
        return [f for group in self.groups().values() for f in group]

    def frames(self, users: pd.DataFrame, items: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The user and item columns the ranker reads, row i = index i."""
        item_columns = [*ITEM_INPUTS, *(c for c in self.items.names if c not in ITEM_INPUTS)]
        return users[self.users.names].reset_index(drop=True), items[item_columns].reset_index(drop=True)


# EASE proposes candidates from the most chosen items only on larger catalogues: its dense solve grows
# with the cube of the items, once per window
EASE_MAX_ITEMS = 3_000


def fit_generators(history: sp.csr_matrix, ease: bool = False) -> dict[str, Scorer]:
    """The candidate generators of a window; EASE only when asked and when the catalogue fits its
    memory budget (else its features stay empty: rank n + 1, score missing)."""
    generators: dict[str, Scorer] = {
        "popularity": PopularityRecommender().fit(history),
        "item_item": ItemItemRecommender().fit(history),
        "als": ALSRecommender().fit(history),
    }
    return {**generators, **(ease_generator(history) if ease else {})}


def ease_generator(history: sp.csr_matrix) -> dict[str, Scorer]:
    """``{"ease": model}``, or nothing when the catalogue is above EASE's memory budget."""
    with contextlib.suppress(CatalogueTooLarge):
        return {"ease": EASERecommender(max_items=EASE_MAX_ITEMS).fit(history)}
    return {}


def window_generators(window: Window, ease: bool = False) -> dict[str, Scorer]:
    """:func:`fit_generators` of a window's history; the generators both candidate sets share are fit
    once per window (tuning compares the sets with and without EASE on the same windows)."""
    shared = window.__dict__.setdefault("_generators", {})
    if not shared:
        shared.update(fit_generators(window.history))
    return {**shared, **(ease_generator(window.history) if ease else {})}


def candidates(generators: dict[str, Scorer], history: sp.csr_matrix, users: np.ndarray, n: int) -> pd.DataFrame:
    """Union of each generator's top-n per user, with every generator's score and rank (rank n + 1 and
    score NaN where a generator did not propose the item)."""
    frames = []
    for name, model in generators.items():
        items, scores = model.recommend(users, n, exclude=history)
        rank = np.tile(np.arange(1, n + 1), len(users))
        f = pd.DataFrame(
            {"user": np.repeat(users, n), "item": items.ravel(), f"{name}_score": scores.ravel(), f"{name}_rank": rank}
        )
        frames.append(f[f["item"] >= 0])
    out = frames[0]
    for f in frames[1:]:
        out = out.merge(f, on=["user", "item"], how="outer")
    for name in [*generators, *(g for g in GENERATORS if g not in generators)]:
        if f"{name}_rank" not in out:  # a generator left out (EASE when not asked for, or above its memory budget)
            out[f"{name}_score"], out[f"{name}_rank"] = np.nan, n + 1
        out[f"{name}_rank"] = out[f"{name}_rank"].fillna(n + 1)
    out["n_generators"] = sum((out[f"{g}_rank"] <= n).astype(int) for g in generators)
    return out.sort_values(["user", "item"], kind="stable").reset_index(drop=True)


def add_features(
    cands: pd.DataFrame, window: Window, users: pd.DataFrame, items: pd.DataFrame, attrs: Attributes
) -> pd.DataFrame:
    """Item, user, pair and exposure features from the window's history, on scales that do not grow
    with the history's length (see the module docstring)."""
    h, days, prof = window.history, window.history_days, window.profile
    u, i = cands["user"].to_numpy(), cands["item"].to_numpy()
    user_items = prof["user_items"]
    f = cands.copy()
    for name in ("item_item", "als", "ease"):  # share of the user's best candidate score
        if f"{name}_score" in f:
            best = f.groupby("user")[f"{name}_score"].transform("max").abs().clip(lower=1e-9)
            f[f"{name}_score"] = f[f"{name}_score"] / best
    if "popularity_score" in f:
        f["popularity_score"] = f["popularity_score"] / prof["active_users"]
    f["item_users"], f["item_recent_users"] = prof["item_users"][i], prof["item_recent_users"][i]
    for col in attrs.items.numeric:
        f[col] = items[col].to_numpy()[i]
    f["item_age_days"] = ((window.cutoff - pd.to_datetime(items["released_at"])).dt.days.to_numpy())[i]
    for col in attrs.items.categorical:
        f[f"{col}_code"] = pd.Categorical(items[col]).codes[i]
    f["user_items"] = user_items[u] / days
    f["user_weight"] = np.log1p(prof["user_weight"][u] / days)
    for col in attrs.users.numeric:
        f[col] = users[col].to_numpy()[u]
    for col in attrs.users.categorical:
        f[f"{col}_code"] = pd.Categorical(users[col]).codes[u]
    f["user_category_share"] = user_category_share(h, items["category"], u, i)
    price = items["price"].to_numpy()
    avg_price = np.asarray((h > 0) @ price).ravel() / np.maximum(user_items, 1)
    f["user_price_ratio"] = np.where(user_items[u] > 0, avg_price[u] / price[i], np.nan)
    f["pair_impressions"] = pair_values(window.impressions, u, i) / days
    f["pair_recent_impressions"] = pair_values(window.recent_impressions, u, i)
    f["item_impressions"] = prof["item_impressions"][i]
    return f


def binary_labels(cands: pd.DataFrame, labels: sp.csr_matrix) -> np.ndarray:
    """1 where the user interacted with the item in the label window (the evaluation's relevance)."""
    return (pair_values(labels, cands["user"].to_numpy(), cands["item"].to_numpy()) > 0).astype(int)


def base_score(frame: pd.DataFrame) -> np.ndarray:
    """The ALS ranking the ranker is boosted from: -log2(1 + ALS rank), rank n + 1 where ALS did not propose."""
    return -np.log2(1.0 + frame["als_rank"].to_numpy(np.float64))


def ranking_frame(
    window: Window,
    users: pd.DataFrame,
    items: pd.DataFrame,
    attrs: Attributes,
    n: int,
    generators: dict[str, Scorer] | None = None,
    max_users: int | None = None,
    seed: int = 42,
    ease: bool = False,
) -> tuple[pd.DataFrame, dict[str, Scorer]]:
    """Candidates (for users with history and at least one label) with features and labels; at most
    ``max_users`` users, drawn at random (seeded), bound the cost on large data."""
    generators = generators or window_generators(window, ease)
    has_hist = np.diff(window.history.indptr) > 0
    has_label = np.diff(window.labels.indptr) > 0
    target = np.flatnonzero(has_hist & has_label)
    if max_users is not None and len(target) > max_users:
        target = np.sort(np.random.default_rng(seed).choice(target, max_users, replace=False))
    cands = candidates(generators, window.history, target, n)
    frame = add_features(cands, window, users, items, attrs)
    frame["label"] = binary_labels(cands, window.labels)
    return frame, generators


def group_sizes(frame: pd.DataFrame) -> np.ndarray:
    key = "query" if "query" in frame.columns else "user"
    return frame.groupby(key, sort=False).size().to_numpy()


def stacked_frames(
    windows: list[Window],
    users: pd.DataFrame,
    items: pd.DataFrame,
    attrs: Attributes,
    n: int,
    max_users: int | None = None,
    seed: int = 42,
    ease: bool = False,
) -> pd.DataFrame:
    """Ranking frames of several windows, users of different windows kept in different query groups."""
    frames = []
    for k, w in enumerate(windows):
        frame, _ = ranking_frame(w, users, items, attrs, n, max_users=max_users, seed=seed + k, ease=ease)
        frame["query"] = frame["user"] + k * len(users)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def candidate_recall(
    generators: dict[str, Scorer], history: sp.csr_matrix, relevant: sp.csr_matrix, ns: Sequence[int]
) -> dict[int, float]:
    """For each n: the share of the test positives (of users with history) present in the union of the
    generators' top-n. The candidates are fetched once, at the largest n (a top-n is a prefix of it)."""
    users = np.flatnonzero((np.diff(relevant.indptr) > 0) & (np.diff(history.indptr) > 0))
    cands = candidates(generators, history, users, max(ns))
    hit = pair_values(relevant, cands["user"].to_numpy(), cands["item"].to_numpy()) > 0
    ranks = cands[[f"{g}_rank" for g in generators]].to_numpy()
    total = relevant[users].nnz
    return {n: float(hit[(ranks <= n).any(axis=1)].sum() / total) for n in ns}
