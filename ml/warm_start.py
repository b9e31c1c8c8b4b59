"""Warm starts: a model continues from its last published version (the click networks from their
weights, LightGBM from its trees) instead of fitting from scratch, with a guard on validation.

A day's model is fit one of three ways (:func:`plan`):

- ``cold``: from scratch, as a full run does (warm starts off, nothing to start from, the last version
  fit with other parameters, features or code, or the last check found warm starts worse);
- ``warm``: from the last version, with a smaller budget (a few epochs, a few trees);
- ``both``: the check, once the last one is ``check_days`` old: a warm and a cold fit on the same data,
  compared per validation example (:func:`check`, a paired test of the log likelihood of the label).
  The cold model is published unless the warm one is significantly better, so a chain of warm starts
  never runs longer than ``check_days``; if the warm one is significantly worse, warm starts pause
  until the next check.

The state travels with the published model (the asset's metadata): when the last check ran and what it
found. Time is the wall clock, as for the tuning's reuse (``ml.tuning.drift``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from ml import feature_checks
from ml.evaluation import metrics as M

CHECK_DAYS = 7.0  # a warm start is checked against a cold fit this often
WORSE = "hurt"  # the verdict (ml.feature_checks.verdict) of a warm model significantly worse than the cold one


@dataclass(frozen=True)
class Previous:
    """The last published version of a model (loaded: its ``params`` and the ``features`` it was fit
    with) and its guard's state."""

    model: Any
    checked_at: str  # ISO time of the last check (or of the cold fit that started the record)
    verdict: str  # what the last check found ("" before the first check)


@dataclass(frozen=True)
class Plan:
    mode: str  # cold, warm or both
    why: str
    paused: bool = False  # cold because the last check found warm starts worse: the check's clock runs on


def plan(
    previous: Previous | None,
    params: dict[str, Any],
    features: str,
    enabled: bool,
    check_days: float,
    now: datetime | None = None,
    missing: str = "",
) -> Plan:
    """How today's model is fit (module docstring); ``missing``: why there is no ``previous``, if known."""
    if not enabled:
        return Plan("cold", "warm starts are off (warm_start: false)")
    if previous is None:
        return Plan("cold", missing or "no earlier version to start from")
    if previous.model.params != params:
        then = previous.model.params
        changed = sorted(k for k in params.keys() | then.keys() if params.get(k) != then.get(k))
        return Plan("cold", f"its parameters changed since the last version: {', '.join(changed)}")
    if previous.model.features.fingerprint != features:
        return Plan("cold", "its features changed since the last version")
    age = ((now or datetime.now(UTC)) - datetime.fromisoformat(previous.checked_at)).total_seconds() / 86400
    if age >= check_days:
        return Plan("both", f"the last check is {age:.1f} days old (every {check_days:g}): warm and cold fit and compared")
    if previous.verdict == WORSE:
        return Plan("cold", f"the last check ({age:.1f} days ago) found the warm start significantly worse; until the next", True)
    found = f": {previous.verdict}" if previous.verdict else ""
    return Plan("warm", f"from the last version (the last check {age:.1f} days ago{found})")


def state_after(chosen: Plan, previous: Previous | None, found: Check | None, now: datetime | None = None) -> dict[str, str]:
    """The guard's state the new version carries: a check's time and verdict; a cold fit that starts anew
    (nothing to start from, other parameters or features, warm starts off) starts the clock; a warm fit,
    or a cold one while warm starts pause, keeps the last check's."""
    now_iso = (now or datetime.now(UTC)).isoformat()
    if found is not None:
        return {"checked_at": now_iso, "verdict": found.verdict}
    if previous is not None and (chosen.mode == "warm" or chosen.paused):
        return {"checked_at": previous.checked_at, "verdict": previous.verdict}
    return {"checked_at": now_iso, "verdict": ""}


@dataclass(frozen=True)
class Check:
    verdict: str  # helped, hurt or noise: the warm model against the cold one
    change: float  # mean per-example log likelihood, warm - cold
    ci_low: float
    ci_high: float
    p_value: float
    n: int
    auc_warm: float
    auc_cold: float

    @property
    def keep_warm(self) -> bool:
        """Publish the warm model only when it is significantly better (else a fresh chain starts)."""
        return self.verdict == "helped"


def check(keys: np.ndarray, labels: np.ndarray, warm: np.ndarray, cold: np.ndarray) -> Check:
    """The warm model's click probabilities against the cold one's on the same validation examples
    (``keys`` identify them): paired per-example log likelihood, as the feature verdict compares versions."""

    def likelihood(p: np.ndarray) -> pd.Series:
        return pd.Series(feature_checks.example_log_likelihood(labels, p), index=keys)

    v = feature_checks.verdict(likelihood(warm), likelihood(cold), "log_likelihood")
    aucs = [M.roc_auc(labels, p) for p in (warm, cold)]
    return Check(v.verdict, v.change, v.ci_low, v.ci_high, v.p_value, v.n, *aucs)
