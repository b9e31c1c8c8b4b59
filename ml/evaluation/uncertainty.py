"""How sure a metric is: per-user bootstrap intervals, and paired comparisons of two models on the
same users (what decides whether a difference is an improvement or noise).

- :func:`bootstrap_ci`: percentile bootstrap (scipy.stats.bootstrap) of the mean over users, for
  several metrics at once (one row per metric), resampling users.
- :func:`paired_comparison`: the mean per-user difference of two models over the users both were
  evaluated on, its bootstrap interval and the two-sided p-value of the paired t-test
  (scipy.stats.ttest_rel). A difference whose interval contains 0 (p >= alpha) is not a win.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

CONFIDENCE = 0.95
ALPHA = 1 - CONFIDENCE
N_RESAMPLES = 1000


def bootstrap_ci(values: np.ndarray, seed: int = 0, n_resamples: int = N_RESAMPLES) -> tuple[np.ndarray, np.ndarray]:
    """95% percentile-bootstrap interval of the mean of each row of ``values`` (metrics x users).
    Rows are NaN where there are fewer than 2 users."""
    values = np.atleast_2d(np.asarray(values, dtype=float))
    m, n = values.shape
    if n < 2:
        return np.full(m, np.nan), np.full(m, np.nan)
    result = stats.bootstrap(
        (values,),
        np.mean,
        axis=-1,
        n_resamples=n_resamples,
        confidence_level=CONFIDENCE,
        method="percentile",
        random_state=np.random.default_rng(seed),
        batch=max(1, 2_000_000 // max(n * m, 1)),
    )
    return np.asarray(result.confidence_interval.low), np.asarray(result.confidence_interval.high)


@dataclass(frozen=True)
class Comparison:
    diff: float  # mean over shared users of (mine - theirs)
    ci_low: float
    ci_high: float
    p_value: float
    n_users: int

    @property
    def significant(self) -> bool:
        return bool(self.p_value < ALPHA)

    def verdict(self) -> str:
        if self.n_users < 2 or not np.isfinite(self.p_value):
            return "not comparable"
        if not self.significant:
            return "no significant difference"
        return "better" if self.diff > 0 else "worse"


def paired_comparison(mine: pd.Series, theirs: pd.Series, seed: int = 0) -> Comparison:
    """Compare per-user values indexed by user id (e.g. NDCG@10 of two models) on the users in both."""
    joined = pd.concat({"mine": mine, "theirs": theirs}, axis=1, join="inner").dropna()
    diff = (joined["mine"] - joined["theirs"]).to_numpy(float)
    n = len(diff)
    if n < 2:
        return Comparison(float(diff.mean()) if n else float("nan"), float("nan"), float("nan"), float("nan"), n)
    if np.allclose(diff, 0):
        return Comparison(0.0, 0.0, 0.0, 1.0, n)
    low, high = bootstrap_ci(diff[None, :], seed=seed)
    p = float(stats.ttest_rel(joined["mine"], joined["theirs"]).pvalue)
    return Comparison(float(diff.mean()), float(low[0]), float(high[0]), p, n)
