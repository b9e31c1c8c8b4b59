"""Leak-free time windows of marts.interactions_daily for the two-stage ranker (see ``ml.two_stage``)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ml import columns as C
from ml.errors import CannotTrain
from ml.interactions import InteractionData, to_csr

GLOBAL_SPLITS = ("last_days", "last_fraction")  # strategies with one time boundary for every user
WEEK = np.timedelta64(7, "D")  # "recent": the popularity and exposure of the last week before a cutoff


@dataclass
class Window:
    history: sp.csr_matrix
    labels: sp.csr_matrix
    cutoff: pd.Timestamp
    last_days: sp.csr_matrix  # interactions in the 7 days before the cutoff (recent popularity)
    impressions: sp.csr_matrix  # impression counts before the cutoff
    recent_impressions: sp.csr_matrix  # impression counts in the 7 days before the cutoff
    history_days: int  # days from the first event to the cutoff

    @cached_property
    def profile(self) -> dict[str, np.ndarray]:
        """Per-item and per-user aggregates of the window, computed once (scoring runs in batches)."""
        h = self.history
        user_items = np.diff(h.indptr)
        active = max(int((user_items > 0).sum()), 1)
        recent_active = max(int((np.diff(self.last_days.indptr) > 0).sum()), 1)
        return {
            "user_items": user_items,
            "active_users": active,
            "user_weight": np.asarray(h.sum(axis=1)).ravel(),
            "item_users": np.asarray((h > 0).sum(axis=0)).ravel() / active,
            "item_recent_users": np.asarray((self.last_days > 0).sum(axis=0)).ravel() / recent_active,
            "item_impressions": np.asarray(self.impressions.sum(axis=0)).ravel() / max(self.impressions.sum(), 1),
        }


def pair_values(matrix: sp.csr_matrix, users: np.ndarray, items: np.ndarray) -> np.ndarray:
    """``matrix[users[j], items[j]]`` for every j as a 1-D array (also for no pairs)."""
    if len(users) == 0:
        return np.zeros(0, dtype=matrix.dtype)
    return np.asarray(matrix[users, items]).ravel()


class DailyRows:
    """marts.interactions_daily prepared once (days, engaged rows, impressions) for cutting its windows."""

    def __init__(self, daily: pd.DataFrame, n_users: int, n_items: int) -> None:
        if "n_impressions" not in daily.columns:
            raise ValueError(
                "marts.interactions_daily has no n_impressions column: rebuild the dbt marts "
                "(dbt build --select interactions_daily, or materialize marts/interactions_daily)"
            )
        self.daily, self.n_users, self.n_items = daily, n_users, n_items
        self.day = pd.to_datetime(daily["event_day"]).to_numpy()
        self.engaged = daily[C.WEIGHT].to_numpy() > 0
        self.shown = daily["n_impressions"].to_numpy() > 0
        self.impressions = daily[[C.USER_IDX, C.ITEM_IDX]].assign(**{C.WEIGHT: daily["n_impressions"]})

    def window(self, before: np.ndarray, recent: np.ndarray, labels: np.ndarray, cutoff) -> Window:
        """History ``before``, recent history ``recent``, labels ``labels`` (row masks; interactions
        only: impressions count as exposure, never as history or label)."""
        d, imp, shape = self.daily, self.impressions, (self.n_users, self.n_items)
        return Window(
            to_csr(d[before & self.engaged], *shape),
            to_csr(d[labels & self.engaged], *shape),
            pd.Timestamp(cutoff),
            to_csr(d[recent & self.engaged], *shape),
            to_csr(imp[before & self.shown], *shape),
            to_csr(imp[recent & self.shown], *shape),
            max(int((np.datetime64(cutoff, "ns") - self.day.min()) / np.timedelta64(1, "D")), 1),
        )


def make_windows(
    daily: pd.DataFrame, n_users: int, n_items: int, split_at: pd.Timestamp, label_days: int, n_train_windows: int = 5
) -> tuple[list[Window], Window, Window]:
    """(ranker train windows, early-stopping window, test window) from marts.interactions_daily."""
    rows = DailyRows(daily, n_users, n_items)
    day, gap = rows.day, np.timedelta64(label_days, "D")

    def window(cutoff, label_mask):
        cutoff = np.datetime64(cutoff, "ns")
        return rows.window(day < cutoff, (day < cutoff) & (day >= cutoff - WEEK), label_mask, cutoff)

    split_at = np.datetime64(split_at, "ns")
    train = [
        window(split_at - k * gap, (day >= split_at - k * gap) & (day < split_at - (k - 1) * gap))
        for k in range(2, n_train_windows + 2)
    ]
    train = [w for w in train if w.history.nnz and w.labels.nnz]
    if not train:
        raise ValueError("the train period is too short for a ranker label window; lower label_days")
    return (
        train,
        window(split_at - gap, (day >= split_at - gap) & (day < split_at)),
        window(split_at, daily["split"].to_numpy() == "test"),
    )


def per_user_windows(daily: pd.DataFrame, n_users: int, n_items: int, seed: int = 0) -> tuple[list[Window], Window, Window]:
    """The ranker's windows under a per-user split (``leave_last_k``: each user's own boundary), from the
    split column of marts.interactions_daily:

    - ranker training: history = the train split, labels = the validation split of half the users
      (a seeded draw);
    - early stopping: the same history, labels = the validation split of the other half;
    - test: history = train + validation splits, labels = the test split.

    "Recent" (the 7-day popularity and exposure features) is the last 7 days of each user's own
    history; the cutoff (item age) is the history's last day. No window reads a test row, and the
    validation labels of one half never reach the other's."""
    rows = DailyRows(daily, n_users, n_items)
    split, day = daily["split"].to_numpy(), rows.day
    users = daily[C.USER_IDX].to_numpy()
    half = np.random.default_rng([seed, 0x2A]).random(n_users) < 0.5

    def window(history: np.ndarray, labels: np.ndarray) -> Window:
        last = pd.Series(day[history]).groupby(users[history]).max()
        own_last = pd.Series(users).map(last).to_numpy()
        recent = history & (day > own_last - WEEK)  # 7 days up to and including the last
        return rows.window(history, recent, labels, day[history].max())

    fit, validation = split == "train", split == "validation"
    if not validation.any():
        raise CannotTrain(
            "the validation split is empty, and the per-user ranker learns from it: raise holdout_k or bring more history"
        )
    return (
        [window(fit, validation & half[users])],
        window(fit, validation & ~half[users]),
        window(fit | validation, split == "test"),
    )


def ranker_windows(
    data: InteractionData, daily: pd.DataFrame, split: dict, label_days: int, n_train_windows: int
) -> tuple[list[Window], Window, Window]:
    """The ranker's (train windows, early-stopping window, test window) of the marts: ``daily`` is
    marts.interactions_daily, ``split`` the row of marts.split_windows. A split with one global
    boundary has time windows before it; a per-user split, the per-user holdouts (:func:`per_user_windows`)."""
    if split["split_strategy"] not in GLOBAL_SPLITS:
        return per_user_windows(daily, data.n_users, data.n_items)
    return make_windows(daily, data.n_users, data.n_items, pd.Timestamp(split["split_at"]), label_days, n_train_windows)
