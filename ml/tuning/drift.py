"""Has the data a tuning chose on drifted since? A profile of what tuning reads, recorded with its
choice, and the population stability index (PSI) of today's data against it.

What a choice of hyperparameters depends on: how active users are (interactions per user), which items
carry the interactions (the share of each of the most chosen items), how much is left to predict (the
validation window's interactions per user), and the features of users and items (numbers and
categories; not dates, identifiers or free text). Each is a
distribution over bins fixed by the profile (deciles of a number, the most common values of a
category, the most chosen items), so today's shares are counted in the same bins:

    PSI = sum over bins of (today - then) * ln(today / then)

less what two samples of one unchanged distribution show by chance (:func:`sampling_psi`: small tables,
such as a few hundred items' deciles, would otherwise drift every day). Below 0.1 is the usual reading
of "no real change"; the threshold is the tuning config's. A distribution the profile does not have (a
feature declared since) counts as drifted. A choice is reused while nothing drifted and it is younger
than the config's ``retune_after_days`` (:func:`reuse`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ml.interactions import InteractionData, most_chosen

BINS = 10  # quantile bins of a number
TOP = 50  # categories and items kept by name; the rest share one bin
FLOOR = 1e-4  # a share of zero is read as this (PSI is undefined at zero)
NEW = float("inf")  # the PSI of a distribution the profile does not have


def bins(kind: str, values: Any) -> dict[str, Any]:
    """The bins of one distribution: decile edges of a number (missing values left out), the ``TOP``
    most common values of a category, the ``TOP`` most chosen items of a matrix."""
    if kind == "numeric":
        values = values[np.isfinite(values)]
        edges = np.unique(np.quantile(values, np.linspace(0, 1, BINS + 1)[1:-1])) if len(values) else np.zeros(0)
        return {"kind": kind, "edges": edges.tolist()}
    if kind == "categorical":
        return {"kind": kind, "names": values.astype(str).value_counts().index[:TOP].tolist()}
    return {"kind": kind, "items": most_chosen(np.asarray((values > 0).sum(axis=0)).ravel(), TOP).tolist()}


def counts(values: Any, binned: dict[str, Any]) -> np.ndarray:
    """How many of ``values`` fall in each of ``binned``'s bins (the named ones, then the rest)."""
    if binned["kind"] == "numeric":
        values, edges = values[np.isfinite(values)], np.asarray(binned["edges"])
        return np.bincount(np.searchsorted(edges, values, side="right"), minlength=len(edges) + 1).astype(float)
    if binned["kind"] == "categorical":
        per_value = values.astype(str).value_counts()
        kept, total = per_value.reindex(binned["names"], fill_value=0).to_numpy(float), float(per_value.sum())
    else:
        per_item = np.asarray((values > 0).sum(axis=0)).ravel().astype(float)
        kept, total = per_item[np.asarray(binned["items"], dtype=np.int64)], float(per_item.sum())
    return np.append(kept, total - kept.sum())


def shares(values: Any, binned: dict[str, Any]) -> list[float]:
    """The share of ``values`` in each of ``binned``'s bins."""
    return as_shares(counts(values, binned))


def as_shares(n: np.ndarray) -> list[float]:
    return (n / max(n.sum(), 1.0)).tolist()


def per_user(matrix: sp.csr_matrix) -> np.ndarray:
    """Interactions per user who has any (log scale: activity is heavy-tailed)."""
    per_row = np.diff((matrix > 0).tocsr().indptr)
    return np.log1p(per_row[per_row > 0].astype(float))


def distributions(data: InteractionData) -> dict[str, tuple[str, Any]]:
    """What tuning reads, by name: (kind, values)."""
    assert data.fit is not None and data.validation is not None
    out: dict[str, tuple[str, Any]] = {
        "interactions per user": ("numeric", per_user(data.fit)),
        "validation interactions per user": ("numeric", per_user(data.validation)),
        "share of the most chosen items": ("items", data.fit),
    }
    for key, frame in (("user", data.users), ("item", data.items)):
        for name in frame.columns.drop([f"{key}_idx", f"{key}_id"], errors="ignore"):
            column = frame[name]
            if pd.api.types.is_datetime64_any_dtype(column):
                continue  # a date moves with every day; the features relative to the cutoff carry it
            if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
                out[f"{key} {name}"] = ("numeric", column.astype("Float64").to_numpy(float, na_value=np.nan))
            elif column.nunique() <= len(column) / 2:  # not an identifier or free text (a title)
                out[f"{key} {name}"] = ("categorical", column)
    return out


def profile(data: InteractionData) -> dict[str, dict[str, Any]]:
    """Each distribution's bins and shares (JSON-serialisable): what a tuning records with its choice."""
    out = {}
    for name, (kind, values) in distributions(data).items():
        binned = bins(kind, values)
        n = counts(values, binned)
        out[name] = {**binned, "shares": as_shares(n), "n": int(n.sum())}
    return out


def psi(then: list[float], now: list[float]) -> float:
    a, b = np.maximum(np.asarray(then, float), FLOOR), np.maximum(np.asarray(now, float), FLOOR)
    return float(np.sum((b - a) * np.log(b / a)))


def sampling_psi(n_bins: int, n_then: int, n_now: int) -> float:
    """The PSI two samples of one unchanged distribution show by chance, on average: (bins - 1) x
    (1 / n_then + 1 / n_now) (PSI is a symmetric chi-square over n). 80 items in 10 bins: about 0.2."""
    return (n_bins - 1) * (1 / max(n_then, 1) + 1 / max(n_now, 1))


def drift(reference: dict[str, dict[str, Any]], data: InteractionData) -> dict[str, float]:
    """Each of today's distributions against ``reference``, counted in the reference's bins: its PSI
    beyond what sampling alone gives (:func:`sampling_psi`; 0 when within it)."""
    out = {}
    for name, (kind, values) in distributions(data).items():
        then = reference.get(name)
        if then is None or then.get("kind") != kind:
            out[name] = NEW
            continue
        n = counts(values, then)
        out[name] = max(0.0, psi(then["shares"], as_shares(n)) - sampling_psi(len(n), then["n"], int(n.sum())))
    return out


def reuse(
    reference: dict[str, dict[str, Any]], tuned_at: datetime, data: InteractionData, threshold: float, max_age_days: float
) -> tuple[bool, str, dict[str, float]]:
    """Whether a choice tuned at ``tuned_at`` on data profiled as ``reference`` still holds for ``data``:
    (reuse it?, why, PSI per distribution). Not when it is older than ``max_age_days`` (the weekly
    re-tune), nor when any distribution's PSI reaches ``threshold`` (0: never reuse)."""
    if threshold <= 0:
        return False, "reuse is off (reuse_below_psi is 0)", {}
    age = (datetime.now(UTC) - tuned_at).total_seconds() / 86400
    if age > max_age_days:
        return False, f"the last tuning is {age:.1f} days old; it is redone after {max_age_days:g}", {}
    psis = drift(reference, data)
    worst = max(psis, key=lambda name: psis[name])
    if psis[worst] >= threshold:
        return False, f"the data drifted since the last tuning: PSI of {worst} {psis[worst]:.3f} >= {threshold:g}", psis
    why = f"no drift since the last tuning ({age:.1f} days ago): largest PSI {psis[worst]:.4f} ({worst}) < {threshold:g}"
    return True, why, psis
