"""Offline evaluation protocol: train window -> test window, seen items excluded, per slice.

Relevant items of a user = items with positive weight in the test window that the user had not
interacted with in the train window. Users with no relevant item are not evaluated. Slices:

- ``all``: every evaluated user;
- ``warm_users`` / ``cold_users``: users with / without train history; cold users are served by
  the fallback model (popularity), as the service does, unless the model embeds users from their
  features (two-tower);
- ``new_items``: relevance restricted to items released in the test window.

Beyond-accuracy metrics (coverage, intra-list diversity over item categories, novelty) are
reported on ``all``. ``ml.evaluation.oracle`` ranks by the generator's true affinity (upper bound).

Every ranking metric carries its 95% per-user bootstrap interval (``ci_low``, ``ci_high``), and
:func:`evaluate_users` also returns the headline metric per user, from which :func:`comparison_rows`
tests a model against popularity and against its own previous run on the same users (of the same
test window: :func:`window_id`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ml.evaluation import metrics as M
from ml.evaluation import uncertainty
from ml.interactions import InteractionData
from ml.recommenders.base import Scorer, served_by_fallback

K_VALUES = (10, 20)
SLICES = ("all", "warm_users", "cold_users", "new_items")
# the columns of every metrics frame (a row per slice, metric and k); p_value only on paired comparisons
METRIC_COLUMNS = ["slice", "metric", "k", "value", "n_users", "ci_low", "ci_high", "p_value"]
HEADLINE_K = 10


def metric_frame(rows: Sequence[tuple]) -> pd.DataFrame:
    """Rows of (slice, metric, k, value[, n_users, ci_low, ci_high, p_value]) as a metrics frame; the
    columns a row leaves out are unknown (n_users 0, the rest NaN)."""
    blank = ("", "", 0, float("nan"), 0, float("nan"), float("nan"), float("nan"))
    return pd.DataFrame([(*row, *blank[len(row) :]) for row in rows], columns=METRIC_COLUMNS)


def relevant_items(data: InteractionData) -> sp.csr_matrix:
    test = (data.test > 0).astype(np.float32)
    seen = (data.train > 0).astype(np.float32)
    rel = test - test.multiply(seen)
    rel.eliminate_zeros()
    return sp.csr_matrix(rel)


def recommend_with_fallback(
    model: Scorer, fallback: Scorer | None, users: np.ndarray, k: int, train: sp.csr_matrix
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Top-k for ``users`` excluding train items; users without train history get ``fallback``'s list.

    Models that embed users from features (``cold_start_from_features``) serve cold users themselves.
    Returns (items, scores, cold) where ``cold`` marks users without train history."""
    cold = np.diff(train.indptr)[users] == 0
    use_fallback = served_by_fallback(model, ~cold) & (fallback is not None)
    items = np.full((len(users), k), -1, dtype=np.int64)
    scores = np.full((len(users), k), -np.inf, dtype=np.float32)
    if (~use_fallback).any():
        items[~use_fallback], scores[~use_fallback] = model.recommend(users[~use_fallback], k, exclude=train)
    if use_fallback.any():
        assert fallback is not None
        items[use_fallback], scores[use_fallback] = fallback.recommend(users[use_fallback], k, exclude=train)
    return items, scores, cold


def ranking_rows(h: np.ndarray, n_rel: np.ndarray, k_values: Sequence[int], seed: int = 0) -> list[tuple]:
    """(metric, k, mean over users, ci_low, ci_high) for every ranking metric of the registry."""
    keys = [(m, k) for k in k_values for m in M.RANKING]
    evaluated = n_rel > 0
    per_user = np.array([m.per_user(h, n_rel, k)[evaluated] for m, k in keys])  # type: ignore[misc]
    low, high = uncertainty.bootstrap_ci(per_user.reshape(len(keys), -1), seed=seed)
    nan = float("nan")
    return [
        (m.name, k, float(values.mean()) if len(values) else nan, lo, hi)
        for (m, k), values, lo, hi in zip(keys, per_user, low, high, strict=True)
    ]


def category_vectors(data: InteractionData) -> np.ndarray:
    codes = pd.Categorical(data.items["category"]).codes
    return np.eye(codes.max() + 1)[codes]


def evaluate(
    model: Scorer, data: InteractionData, fallback: Scorer | None = None, k_values: Sequence[int] = K_VALUES
) -> pd.DataFrame:
    """Long table (slice, metric, k, value, n_users, ci_low, ci_high) of ``model`` on the test window."""
    return evaluate_users(model, data, fallback, k_values)[0]


def evaluate_users(
    model: Scorer, data: InteractionData, fallback: Scorer | None = None, k_values: Sequence[int] = K_VALUES
) -> tuple[pd.DataFrame, pd.Series]:
    """:func:`evaluate`'s table, and the headline metric (NDCG@10) per evaluated user, by user id."""
    rel = relevant_items(data)
    n_rel_all = M.n_relevant(rel)
    users = np.flatnonzero(n_rel_all > 0)
    kmax = max(k_values)
    recs, _, cold = recommend_with_fallback(model, fallback, users, kmax, data.train)
    rel_users = rel[users]
    h = M.hits(recs, rel_users)
    n_rel = n_rel_all[users]

    new_mask = data.items["is_new_item"].to_numpy() == 1
    rel_new = sp.csr_matrix(rel_users.multiply(new_mask[None, :].astype(np.float32)))
    n_rel_new = M.n_relevant(rel_new)
    slices = {
        "all": (h, n_rel),
        "warm_users": (h[~cold], n_rel[~cold]),
        "cold_users": (h[cold], n_rel[cold]),
        "new_items": (M.hits(recs, rel_new), n_rel_new),
    }
    rows: list[tuple] = []
    for name, (hs, nr) in slices.items():
        n_users = int((nr > 0).sum())
        rows += [(name, metric, k, value, n_users, lo, hi) for metric, k, value, lo, hi in ranking_rows(hs, nr, k_values)]
    popularity = data.item_popularity()
    cats = category_vectors(data)
    for k in k_values:
        rows += [
            ("all", "coverage", k, M.catalogue_coverage(recs[:, :k], data.n_items), len(users)),
            ("all", "diversity", k, M.intra_list_diversity(recs[:, :k], cats), len(users)),
            ("all", "novelty", k, M.novelty(recs[:, :k], popularity, data.n_users), len(users)),
        ]
    headline = M.REGISTRY[M.HEADLINE].per_user(h, n_rel, HEADLINE_K)  # type: ignore[misc]
    return metric_frame(rows), by_user_id(data, users, headline)


def by_user_id(data: InteractionData, user_indices: np.ndarray, values: np.ndarray) -> pd.Series:
    """Per-user values indexed by user id, so that runs over different marts pair on the same users."""
    return pd.Series(values, index=pd.Index(data.users["user_id"].to_numpy()[user_indices], name="user_id"), name="value")


def window_id(data: InteractionData) -> str:
    """A fingerprint of the test window: its (user id, item id, weight) rows, in any order. A paired test
    against an earlier evaluation means something only on the same test data; new events move a time
    split's window, and then the earlier per-user values are not comparable."""
    test = data.test.tocoo()
    rows = pd.DataFrame(
        {
            "user_id": data.users["user_id"].to_numpy()[test.row],
            "item_id": data.items["item_id"].to_numpy()[test.col],
            "weight": test.data,
        }
    ).sort_values(["user_id", "item_id"])
    return hashlib.sha256(pd.util.hash_pandas_object(rows, index=False).to_numpy().tobytes()).hexdigest()[:16]


def comparison_rows(per_user: pd.Series, baseline: pd.Series | None, previous: pd.Series | None) -> pd.DataFrame:
    """Paired tests of the headline metric on the same users (slice ``vs_popularity`` / ``vs_previous``):
    value = mean difference, its 95% interval, the paired t-test's p-value and the users compared."""
    rows = []
    for name, other in (("vs_popularity", baseline), ("vs_previous", previous)):
        if other is None or other.empty:
            continue
        c = uncertainty.paired_comparison(per_user, other)
        rows.append((name, M.HEADLINE, HEADLINE_K, c.diff, c.n_users, c.ci_low, c.ci_high, c.p_value))
    return metric_frame(rows)


def headline_users(model: Scorer, data: InteractionData, fallback: Scorer | None = None, k: int = HEADLINE_K) -> pd.Series:
    """NDCG@k of every evaluated user, by user id, without the slices and intervals of
    :func:`evaluate_users`: what selection (tuning, epochs) maximises and the paired tests compare.
    Pass ``data.tuning()`` to score on the validation window."""
    rel = relevant_items(data)
    n_rel_all = M.n_relevant(rel)
    users = np.flatnonzero(n_rel_all > 0)
    recs, _, _ = recommend_with_fallback(model, fallback, users, k, data.train)
    return by_user_id(data, users, M.ndcg_at_k(M.hits(recs, rel[users]), n_rel_all[users], k))


def ctr_rows(report: dict) -> pd.DataFrame:
    """The CTR metrics of :func:`ml.evaluation.metrics.ctr_report` as metric rows (slice ``ctr_test``)."""
    return metric_frame([("ctr_test", m.name, 0, report[m.name]) for m in M.CTR])


def evaluate_ctr(model, test: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """Test-window CTR metrics of a click model (anything with ``predict_proba(frame)``)."""
    report = M.ctr_report(test["clicked"].to_numpy(), model.predict_proba(test))
    return ctr_rows(report), report
