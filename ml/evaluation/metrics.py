"""Ranking and CTR metrics. Pure, vectorized functions.

Ranking metrics take ``recs`` (n_users x k item indices, best first, -1 = no recommendation) and
``relevant`` (a CSR matrix with the same n_users rows; non-zero = relevant item). They return one
value per user; the evaluation averages over users with at least one relevant item (users without
any are excluded, as in recommenders' python_evaluation). Relevance is binary.

:data:`REGISTRY` is every metric the project reports, in display order, with its kind and
description, as the dbt var ``metrics`` declares them: the evaluation computes the ranking metrics
from it, the Dagster metadata follows it, and the leaderboard has a column per declared metric.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.metrics import log_loss as _sk_log_loss
from sklearn.metrics import roc_auc_score

from ml import columns as C


def hits(recs: np.ndarray, relevant: sp.csr_matrix) -> np.ndarray:
    """Boolean matrix: recs[u, r] is a relevant item of user u."""
    n, k = recs.shape
    if relevant.shape[0] != n:
        raise ValueError(f"recs has {n} rows but relevant has {relevant.shape[0]}")
    n_items = relevant.shape[1]
    rel = sp.csr_matrix(relevant)
    rel.eliminate_zeros()
    rel_keys = np.repeat(np.arange(n, dtype=np.int64), np.diff(rel.indptr)) * n_items + rel.indices
    rec_keys = np.arange(n, dtype=np.int64)[:, None] * n_items + recs
    return np.isin(rec_keys, rel_keys) & (recs >= 0)


def n_relevant(relevant: sp.csr_matrix) -> np.ndarray:
    rel = sp.csr_matrix(relevant)
    rel.eliminate_zeros()
    return np.diff(rel.indptr)


def precision_at_k(h: np.ndarray, k: int) -> np.ndarray:
    """Share of the k slots holding a relevant item (empty slots count as misses)."""
    return h[:, :k].sum(axis=1) / k


def recall_at_k(h: np.ndarray, n_rel: np.ndarray, k: int) -> np.ndarray:
    return _safe_div(h[:, :k].sum(axis=1), n_rel)


def hit_rate_at_k(h: np.ndarray, k: int) -> np.ndarray:
    return h[:, :k].any(axis=1).astype(float)


def ndcg_at_k(h: np.ndarray, n_rel: np.ndarray, k: int) -> np.ndarray:
    """Binary-relevance NDCG: DCG = sum hit_r / log2(r + 1); ideal = min(n_rel, k) hits at the top."""
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    dcg = (h[:, :k] * discounts[: h[:, :k].shape[1]]).sum(axis=1)
    ideal_cum = np.concatenate([[0.0], np.cumsum(discounts)])
    idcg = ideal_cum[np.minimum(n_rel, k)]
    return _safe_div(dcg, idcg)


def map_at_k(h: np.ndarray, n_rel: np.ndarray, k: int) -> np.ndarray:
    """Average precision at k: mean of precision@r over the ranks r of hits, divided by min(n_rel, k)."""
    hk = h[:, :k].astype(float)
    prec_at_r = np.cumsum(hk, axis=1) / np.arange(1, hk.shape[1] + 1)
    return _safe_div((prec_at_r * hk).sum(axis=1), np.minimum(n_rel, k))


def mrr_at_k(h: np.ndarray, k: int) -> np.ndarray:
    """Reciprocal rank of the first relevant item within the top k (0 when none)."""
    hk = h[:, :k]
    first = np.argmax(hk, axis=1)
    return np.where(hk.any(axis=1), 1.0 / (first + 1), 0.0)


def catalogue_coverage(recs: np.ndarray, n_items: int) -> float:
    """Share of the catalogue that appears in at least one list."""
    return len(np.unique(recs[recs >= 0])) / n_items


def intra_list_diversity(recs: np.ndarray, item_vectors: np.ndarray) -> float:
    """Mean over lists of the mean pairwise cosine distance between the list's items."""
    vec = np.asarray(item_vectors, dtype=np.float64)
    unit = vec / (np.linalg.norm(vec, axis=1, keepdims=True) + 1e-12)
    values = []
    for row in recs:
        row = row[row >= 0]
        if len(row) < 2:
            continue
        sim = unit[row] @ unit[row].T
        n = len(row)
        values.append(1.0 - (sim.sum() - np.trace(sim)) / (n * (n - 1)))
    return float(np.mean(values)) if values else float("nan")


def novelty(recs: np.ndarray, item_popularity: np.ndarray, n_users: int) -> float:
    """Mean self-information -log2(p_i) of recommended items, p_i = share of users who saw item i
    (items nobody interacted with get p = 1 / n_users)."""
    p = np.maximum(np.asarray(item_popularity, dtype=float), 1.0) / n_users
    valid = recs >= 0
    return float((-np.log2(p[recs[valid]])).mean()) if valid.any() else float("nan")


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    return float(roc_auc_score(labels, scores))


def log_loss(labels: np.ndarray, probabilities: np.ndarray) -> float:
    return float(_sk_log_loss(labels, np.clip(probabilities, 1e-7, 1 - 1e-7), labels=[0, 1]))


def calibration_table(labels: np.ndarray, probabilities: np.ndarray, n_bins: int = 10) -> list[dict]:
    """Mean predicted vs observed rate per quantile bin of the probabilities (sklearn's calibration_curve)."""
    from sklearn.calibration import calibration_curve

    observed, predicted = calibration_curve(labels, probabilities, n_bins=n_bins, strategy="quantile")
    return [{"predicted": float(p), "observed": float(o)} for p, o in zip(predicted, observed, strict=True)]


def _safe_div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    return np.divide(a, b, out=np.zeros_like(a), where=b > 0)


def ctr_report(labels: np.ndarray, probabilities: np.ndarray, n_bins: int = 10) -> dict:
    """AUC, log loss and a calibration summary (mean |predicted - observed| over quantile bins)."""
    table = calibration_table(labels, probabilities, n_bins)
    ece = float(np.mean([abs(r["predicted"] - r["observed"]) for r in table]))
    return {
        "auc": roc_auc(labels, probabilities),
        "log_loss": log_loss(labels, probabilities),
        "calibration_error": ece,
        "mean_predicted": float(np.mean(probabilities)),
        "observed_ctr": float(np.mean(labels)),
        "calibration": table,
    }


@dataclass(frozen=True)
class Metric:
    name: str
    kind: str  # ranking (per user, averaged), beyond_accuracy (per list set), ctr (per impression)
    description: str
    per_user: Callable[[np.ndarray, np.ndarray, int], np.ndarray] | None = None  # (hits, n_relevant, k)
    higher_is_better: bool = True


# how each ranking metric is computed per user from (hits, n_relevant, k)
PER_USER: dict[str, Callable[[np.ndarray, np.ndarray, int], np.ndarray]] = {
    "ndcg": lambda h, n, k: ndcg_at_k(h, n, k),
    "recall": lambda h, n, k: recall_at_k(h, n, k),
    "precision": lambda h, n, k: precision_at_k(h, k),
    "map": lambda h, n, k: map_at_k(h, n, k),
    "mrr": lambda h, n, k: mrr_at_k(h, k),
    "hit_rate": lambda h, n, k: hit_rate_at_k(h, k),
}


def registry(declared: dict[str, dict]) -> dict[str, Metric]:
    """The metrics declared in the dbt var ``metrics`` (name -> kind, description), in their order,
    each ranking metric with its per-user function; a declaration without a function is an error."""
    missing = [n for n, d in declared.items() if d["kind"] == "ranking" and n not in PER_USER]
    if missing:
        raise ValueError(f"dbt var metrics declares ranking metrics {missing} that ml/evaluation/metrics.py does not compute")
    return {
        name: Metric(name, d["kind"], d["description"], PER_USER.get(name), not d.get("lower_is_better", False))
        for name, d in declared.items()
    }


REGISTRY: dict[str, Metric] = registry(C.dbt_vars()["metrics"])
HEADLINE = "ndcg"  # the metric checks and comparisons decide on
RANKING = [m for m in REGISTRY.values() if m.kind == "ranking"]
CTR = [m for m in REGISTRY.values() if m.kind == "ctr"]
