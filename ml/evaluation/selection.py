"""Choosing among tuning trials without the winner's curse.

The best of N trials, tested against the defaults on the users it was chosen on, looks better than it
is: part of its lead is the luck of those users (on MovieLens-100k such an adoption was "significant"
on validation and lost on test). So the validation users are split once, by a seeded draw over their
ids, into a **search** half and a **confirmation** half:

- the search (Optuna's sampler, the epoch choice of the networks) sees only the search half's mean;
- the best trial on the search half is then compared with trial 0 (the defaults) on the
  confirmation half, which played no part in choosing it: a paired test on users the setting was
  not selected on. It is adopted only when significantly better there; otherwise the defaults stay.

:func:`stability` repeats the choice over other seeds of the split (the same trials, re-chosen on a
new search half and confirmed on its complement): whether the same setting wins and how its
confirmed gain varies, at no extra fit. The test window is never involved.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ml.evaluation import uncertainty

CONFIRM_FRACTION = 0.5
STABILITY_SPLITS = 5  # the decision's split and four more


def confirmation_users(users: pd.Index, seed: int) -> pd.Index:
    """The confirmation half of ``users`` (ids): a seeded draw over the sorted ids, so every trial and
    every caller with the same users and seed gets the same half."""
    ids = np.sort(np.asarray(users))
    drawn = np.random.default_rng([seed, 0x5E1EC7]).random(len(ids)) < CONFIRM_FRACTION
    return pd.Index(ids[drawn])


def search_users(users: pd.Index, seed: int) -> pd.Index:
    return pd.Index(np.setdiff1d(np.asarray(users), confirmation_users(users, seed)))


def search_mean(per_user: pd.Series, seed: int) -> float:
    """What the search maximises: the mean over the search half of ``per_user``'s users."""
    values = per_user.reindex(search_users(per_user.index, seed)).dropna()
    return float(values.mean()) if len(values) else float("nan")


@dataclass(frozen=True)
class Selection:
    seed: int  # of the search / confirmation split
    best: int  # the best trial on the search users (0: the defaults were best)
    search_value: float  # its mean on the search users
    comparison: uncertainty.Comparison | None  # best vs trial 0 on the confirmation users
    confirmed: bool  # significantly better there: adopted

    @property
    def chosen(self) -> int:
        return self.best if self.confirmed else 0

    def decision(self) -> str:
        c = self.comparison
        if c is None:
            return "the defaults were the best trial on the search users"
        verdict = "adopted" if self.confirmed else "not significant: kept the defaults"
        return (
            f"best trial (#{self.best}) {c.diff:+.4f} [{c.ci_low:+.4f}, {c.ci_high:+.4f}] vs the defaults on "
            f"{c.n_users:,} confirmation users it was not chosen on, p = {c.p_value:.2g}: {verdict}"
        )


def confirmed(scores: pd.DataFrame, seed: int) -> Selection:
    """``scores``: per-user values (rows: user ids) of every trial (columns: trial numbers, 0 = the
    defaults). The best trial on the search half, adopted if significantly better than trial 0 on the
    confirmation half."""
    search = scores.reindex(search_users(scores.index, seed))
    means = search.mean()
    best = int(means.idxmax()) if means.notna().any() else 0
    if best == 0:
        return Selection(seed, 0, float(means.get(0, np.nan)), None, False)
    confirm = scores.reindex(confirmation_users(scores.index, seed))
    c = uncertainty.paired_comparison(confirm[best], confirm[0])
    return Selection(seed, best, float(means[best]), c, bool(c.significant and c.diff > 0))


def one_look(scores: pd.DataFrame) -> Selection:
    """The rule this module replaces, kept to measure it (``bench/selection.py``): the best trial on
    all validation users, tested against the defaults on the same users."""
    means = scores.mean()
    best = int(means.idxmax())
    if best == 0:
        return Selection(-1, 0, float(means[0]), None, False)
    c = uncertainty.paired_comparison(scores[best], scores[0])
    return Selection(-1, best, float(means[best]), c, bool(c.significant and c.diff > 0))


def stability(scores: pd.DataFrame, seed: int, splits: int = STABILITY_SPLITS) -> list[Selection]:
    """:func:`confirmed` on ``splits`` seeds of the split, starting with ``seed`` (the decision's own).
    The trials were proposed while the sampler saw ``seed``'s search half only; the other splits
    re-choose among them, so they measure how much the choice depends on which users chose it."""
    return [confirmed(scores, seed + i) for i in range(splits)]


def stability_frame(selections: list[Selection], params_of: dict[int, dict]) -> pd.DataFrame:
    """One row per split: the trial it chose, that trial's values, and its confirmed gain."""
    rows = []
    for s in selections:
        c = s.comparison
        rows.append(
            {
                "split_seed": s.seed,
                "best_trial": s.best,
                "search_ndcg@10": s.search_value,
                "confirmed_gain": c.diff if c else 0.0,
                "p_value": c.p_value if c else float("nan"),
                "adopted": s.confirmed,
                "chosen": described(params_of.get(s.chosen, {})),
            }
        )
    return pd.DataFrame(rows)


def described(params: dict) -> str:
    """``{"l2": 500.0, "weighting": "log"}`` -> ``l2=500, weighting=log``; no change -> the defaults."""
    shown = (f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items())
    return ", ".join(shown) or "the defaults"
