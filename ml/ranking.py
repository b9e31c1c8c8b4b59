"""Two-stage ranking: candidate generators -> LightGBM LambdaRank reranker.

Windows inside the train period keep it leak-free (L = label_days, S = the split):

- ranker training: for k = 2 .. n_train_windows + 1, generators and features from interactions before
  S - kL, labels from [S - kL, S - (k-1)L) (several weekly windows stacked: more label data);
- early stopping:  generators and features before S - L, labels from [S - L, S);
- test:            generators and features from the whole train window (before S), labels = test window.

Candidates per user are the union of each generator's top-N (popularity, item-item, ALS) with each
generator's score and rank as features, plus item, user and user x item features computed from the
same history. Counts that grow with the length of the history (popularity, item users, impressions,
user activity) are divided by it, and generator scores are divided by the user's best score, so
a ranker trained on shorter histories sees the same scale on the full train window. Exposure
features count how often an item was shown to the user (impressions without interaction).

Labels are binary (any interaction in the label window), the relevance the evaluation uses. The
ranker is boosted from the ALS ranking: ``init_score = -log2(1 + ALS rank)`` (LightGBM's init
score), so its trees learn corrections to the strongest generator instead of re-learning it from a
few thousand positives, and the same base is added at prediction time.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import lightgbm as lgb
import numpy as np
import pandas as pd
import scipy.sparse as sp

from ml import columns as C
from ml import warehouse
from ml.data import InteractionData, load_interactions, to_csr, user_category_share
from ml.models import ALSRecommender, ItemItemRecommender, PopularityRecommender, Recommender
from ml.models.base import UnsupportedOperation

GENERATORS = ("popularity", "item_item", "als")
FEATURE_GROUPS = {
    "generators": [f"{g}_{kind}" for g in GENERATORS for kind in ("score", "rank")] + ["n_generators"],
    "item": ["item_users", "item_recent_users", "price", "item_age_days", "category_code"],
    "user": ["user_items", "user_weight", "segment_code", "age_band_code"],
    "pair": ["user_category_share", "user_price_ratio"],
    "exposure": ["pair_impressions", "pair_recent_impressions", "item_impressions"],
}
FEATURES = [f for group in FEATURE_GROUPS.values() for f in group]


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
            "user_items": user_items, "active_users": active, "user_weight": np.asarray(h.sum(axis=1)).ravel(),
            "item_users": np.asarray((h > 0).sum(axis=0)).ravel() / active,
            "item_recent_users": np.asarray((self.last_days > 0).sum(axis=0)).ravel() / recent_active,
            "item_impressions": np.asarray(self.impressions.sum(axis=0)).ravel() / max(self.impressions.sum(), 1),
        }


def pair_values(matrix: sp.csr_matrix, users: np.ndarray, items: np.ndarray) -> np.ndarray:
    """``matrix[users[j], items[j]]`` for every j as a 1-D array (also for no pairs)."""
    if len(users) == 0:
        return np.zeros(0, dtype=matrix.dtype)
    return np.asarray(matrix[users, items]).ravel()


def make_windows(daily: pd.DataFrame, n_users: int, n_items: int, split_at: pd.Timestamp, label_days: int,
                 n_train_windows: int = 5) -> tuple[list[Window], Window, Window]:
    """(ranker train windows, early-stopping window, test window) from marts.interactions_daily."""
    if "n_impressions" not in daily.columns:
        raise ValueError("marts.interactions_daily has no n_impressions column: rebuild the dbt marts "
                         "(dbt build --select interactions_daily, or materialize marts/interactions_daily)")
    day = pd.to_datetime(daily["event_day"]).to_numpy()
    engaged = daily[C.WEIGHT].to_numpy() > 0
    shown = daily["n_impressions"].to_numpy() > 0
    impressions = daily[[C.USER_IDX, C.ITEM_IDX]].assign(**{C.WEIGHT: daily["n_impressions"]})
    first_day = day.min()
    gap, week = np.timedelta64(label_days, "D"), np.timedelta64(7, "D")

    def window(cutoff, label_mask):
        cutoff = np.datetime64(cutoff, "ns")
        before, recent = day < cutoff, (day < cutoff) & (day >= cutoff - week)
        return Window(to_csr(daily[before & engaged], n_users, n_items),
                      to_csr(daily[label_mask & engaged], n_users, n_items), pd.Timestamp(cutoff),
                      to_csr(daily[recent & engaged], n_users, n_items),
                      to_csr(impressions[before & shown], n_users, n_items),
                      to_csr(impressions[recent & shown], n_users, n_items),
                      max(int((cutoff - first_day) / np.timedelta64(1, "D")), 1))

    split_at = np.datetime64(split_at, "ns")
    train = [window(split_at - k * gap, (day >= split_at - k * gap) & (day < split_at - (k - 1) * gap))
             for k in range(2, n_train_windows + 2)]
    train = [w for w in train if w.history.nnz and w.labels.nnz]
    if not train:
        raise ValueError("the train period is too short for a ranker label window; lower label_days")
    return (train, window(split_at - gap, (day >= split_at - gap) & (day < split_at)),
            window(split_at, daily["split"].to_numpy() == "test"))


def load_windows(path, label_days: int, n_train_windows: int) -> tuple[InteractionData, tuple]:
    """The marts of the warehouse at ``path`` and the ranker's (train windows, validation, test) windows."""
    data = load_interactions(path)
    with warehouse.connect(path) as con:
        daily = con.execute("select * from marts.interactions_daily").df()
        split_at = pd.Timestamp(warehouse.scalar(con, "select split_at from intermediate.int_split_defined"))
    return data, make_windows(daily, data.n_users, data.n_items, split_at, label_days, n_train_windows)


def stacked_frames(windows: list[Window], users: pd.DataFrame, items: pd.DataFrame, n: int,
                   max_users: int | None = None, seed: int = 42) -> pd.DataFrame:
    """Ranking frames of several windows, users of different windows kept in different query groups."""
    frames = []
    for k, w in enumerate(windows):
        frame, _ = ranking_frame(w, users, items, n, max_users=max_users, seed=seed + k)
        frame["query"] = frame["user"] + k * len(users)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def fit_generators(history: sp.csr_matrix) -> dict[str, Recommender]:
    return {"popularity": PopularityRecommender().fit(history), "item_item": ItemItemRecommender().fit(history),
            "als": ALSRecommender().fit(history)}


def candidates(generators: dict[str, Recommender], history: sp.csr_matrix, users: np.ndarray, n: int) -> pd.DataFrame:
    """Union of each generator's top-n per user, with every generator's score and rank (rank n + 1 and
    score NaN where a generator did not propose the item)."""
    frames = []
    for name, model in generators.items():
        items, scores = model.recommend(users, n, exclude=history)
        rank = np.tile(np.arange(1, n + 1), len(users))
        f = pd.DataFrame({"user": np.repeat(users, n), "item": items.ravel(), f"{name}_score": scores.ravel(),
                          f"{name}_rank": rank})
        frames.append(f[f["item"] >= 0])
    out = frames[0]
    for f in frames[1:]:
        out = out.merge(f, on=["user", "item"], how="outer")
    for name in generators:
        out[f"{name}_rank"] = out[f"{name}_rank"].fillna(n + 1)
    out["n_generators"] = sum((out[f"{g}_rank"] <= n).astype(int) for g in generators)
    return out.sort_values(["user", "item"], kind="stable").reset_index(drop=True)


def add_features(cands: pd.DataFrame, window: Window, users: pd.DataFrame, items: pd.DataFrame) -> pd.DataFrame:
    """Item, user, pair and exposure features from the window's history, on scales that do not grow
    with the history's length (see the module docstring)."""
    h, days, prof = window.history, window.history_days, window.profile
    u, i = cands["user"].to_numpy(), cands["item"].to_numpy()
    user_items = prof["user_items"]
    f = cands.copy()
    for name in ("item_item", "als"):  # share of the user's best candidate score
        if f"{name}_score" in f:
            best = f.groupby("user")[f"{name}_score"].transform("max").abs().clip(lower=1e-9)
            f[f"{name}_score"] = f[f"{name}_score"] / best
    if "popularity_score" in f:
        f["popularity_score"] = f["popularity_score"] / prof["active_users"]
    f["item_users"], f["item_recent_users"] = prof["item_users"][i], prof["item_recent_users"][i]
    f["price"] = items["price"].to_numpy()[i]
    f["item_age_days"] = ((window.cutoff - pd.to_datetime(items["released_at"])).dt.days.to_numpy())[i]
    f["category_code"] = pd.Categorical(items["category"]).codes[i]
    f["user_items"] = user_items[u] / days
    f["user_weight"] = np.log1p(prof["user_weight"][u] / days)
    f["segment_code"] = pd.Categorical(users["segment"]).codes[u]
    f["age_band_code"] = pd.Categorical(users["age_band"]).codes[u]
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


def ranking_frame(window: Window, users: pd.DataFrame, items: pd.DataFrame, n: int,
                  generators: dict[str, Recommender] | None = None, max_users: int | None = None,
                  seed: int = 42) -> tuple[pd.DataFrame, dict[str, Recommender]]:
    """Candidates (for users with history and at least one label) with features and labels; at most
    ``max_users`` users, drawn at random (seeded), bound the cost on large data."""
    generators = generators or fit_generators(window.history)
    has_hist = np.diff(window.history.indptr) > 0
    has_label = np.diff(window.labels.indptr) > 0
    target = np.flatnonzero(has_hist & has_label)
    if max_users is not None and len(target) > max_users:
        target = np.sort(np.random.default_rng(seed).choice(target, max_users, replace=False))
    cands = candidates(generators, window.history, target, n)
    frame = add_features(cands, window, users, items)
    frame["label"] = binary_labels(cands, window.labels)
    return frame, generators


def group_sizes(frame: pd.DataFrame) -> np.ndarray:
    key = "query" if "query" in frame.columns else "user"
    return frame.groupby(key, sort=False).size().to_numpy()


def train_ranker(train: pd.DataFrame, validation: pd.DataFrame, features: list[str] = FEATURES, seed: int = 42,
                 n_estimators: int = 600, learning_rate: float = 0.03, num_leaves: int = 15,
                 min_child_samples: int = 300) -> lgb.LGBMRanker:
    """LambdaRank boosted from :func:`base_score`, early-stopped on the validation window's NDCG@10."""
    model = lgb.LGBMRanker(objective="lambdarank", n_estimators=n_estimators, learning_rate=learning_rate,
                           num_leaves=num_leaves, min_child_samples=min_child_samples, reg_lambda=1.0, subsample=0.8,
                           subsample_freq=1, colsample_bytree=0.8, random_state=seed, n_jobs=2, deterministic=True,
                           force_row_wise=True, verbose=-1)
    model.fit(train[features], train["label"], group=group_sizes(train), init_score=base_score(train),
              eval_X=(validation[features],), eval_y=(validation["label"],), eval_group=[group_sizes(validation)],
              eval_init_score=[base_score(validation)], eval_at=[10],
              callbacks=[lgb.early_stopping(50, verbose=False)])
    return model


class TwoStageRecommender(Recommender):
    """Scores a user's candidates (the generators' union) with the LightGBM ranker; everything else -inf."""

    name = "two_stage"

    def __init__(self, generators: dict[str, Recommender], ranker: lgb.LGBMRanker, window: Window,
                 users: pd.DataFrame, items: pd.DataFrame, n_candidates: int, features: list[str] = FEATURES) -> None:
        super().__init__(n_candidates=n_candidates)
        self.generators, self.ranker, self.window = generators, ranker, window
        self.users, self.items, self.features = users, items, features
        self.n_users, self.n_items = window.history.shape

    def fit(self, interactions, **side):
        raise UnsupportedOperation("train the generators and the ranker with ml.ranking.train_ranker")

    def score_users(self, user_indices: np.ndarray) -> np.ndarray:
        cands = candidates(self.generators, self.window.history, np.asarray(user_indices), self.params["n_candidates"])
        scores = np.full((len(user_indices), self.n_items), -np.inf, dtype=np.float32)
        if cands.empty:  # every user has seen every item the generators could propose; LightGBM rejects 0 rows
            return scores
        frame = add_features(cands, self.window, self.users, self.items)
        row = pd.Index(np.asarray(user_indices)).get_indexer(frame["user"])
        scores[row, frame["item"].to_numpy()] = self.ranker.predict(frame[self.features]) + base_score(frame)
        return scores

    def _arrays(self):
        raise UnsupportedOperation("the two-stage pipeline is saved as generators + ranker.txt by its asset")

    def _restore(self, arrays):
        raise UnsupportedOperation("the two-stage pipeline is saved as generators + ranker.txt by its asset")


def candidate_recall(generators: dict[str, Recommender], history: sp.csr_matrix, relevant: sp.csr_matrix,
                     n: int) -> float:
    """Share of the test positives (of users with history) present in the candidate union of size <= 3n."""
    users = np.flatnonzero((np.diff(relevant.indptr) > 0) & (np.diff(history.indptr) > 0))
    cands = candidates(generators, history, users, n)
    hit = pair_values(relevant, cands["user"].to_numpy(), cands["item"].to_numpy()) > 0
    return float(hit.sum() / relevant[users].nnz)
