"""Choosing among tuning trials without the winner's curse.

The best of N trials, tested against the defaults on the users it was chosen on, looks better than it
is: part of its lead is the luck of those users. So the gain of choosing is estimated by
**cross-fitting**: the validation users are split by a seeded draw into two folds; the best trial on
one fold is scored against trial 0 (the defaults) on the other, and the other way round, so every
user's gain is measured on a trial chosen without that user. This is repeated over ``REPEATS``
draws and each user's gain averaged (less dependence on one draw). The paired test on those per-user
gains, all validation users, decides: the best trial on all users replaces the defaults only when the
cross-fitted gain is significantly above zero. (Halving the users into a search and a confirmation
set does the same with half the users' power; on MovieLens-100k it missed gains that held on test.)

The trials themselves were proposed by a sampler that saw every validation user (TPE's proposals,
a network's epoch): that choice of candidates is not cross-fitted, only the choice among them.
:func:`stability_frame` lists each draw: which trial each fold chose and the draw's own estimate.
The test window is never involved.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ml.evaluation import uncertainty

REPEATS = 5  # draws of the two folds


def fold_of(users: pd.Index, seed: int) -> pd.Series:
    """0 or 1 per user id: a seeded draw over the sorted ids (the same for every trial and caller)."""
    ids = np.sort(np.asarray(users))
    return pd.Series(np.random.default_rng([seed, 0x5E1EC7]).random(len(ids)) < 0.5, index=ids).astype(int)


@dataclass(frozen=True)
class Draw:
    seed: int
    chosen: tuple[int, int]  # the best trial of fold 0 and of fold 1
    comparison: uncertainty.Comparison  # this draw's cross-fitted scores vs trial 0


@dataclass(frozen=True)
class Selection:
    best: int  # the best trial on all validation users (0: the defaults)
    comparison: uncertainty.Comparison | None  # cross-fitted gain vs trial 0, averaged over the draws
    confirmed: bool  # significantly above zero: adopted
    draws: list[Draw] = field(default_factory=list)

    @property
    def chosen(self) -> int:
        return self.best if self.confirmed else 0

    def decision(self) -> str:
        c = self.comparison
        if c is None:
            return "the defaults were the best trial"
        verdict = "adopted" if self.confirmed else "not significant: kept the defaults"
        return (
            f"best trial (#{self.best}); choosing it gains {c.diff:+.4f} [{c.ci_low:+.4f}, {c.ci_high:+.4f}] over the "
            f"defaults on users it was not chosen on ({len(self.draws)} cross-fitted draws, {c.n_users:,} users), "
            f"p = {c.p_value:.2g}: {verdict}"
        )


def cross_fitted_scores(scores: pd.DataFrame, seed: int) -> tuple[pd.Series, tuple[int, int]]:
    """Every user's score under the trial the other fold chose (``scores``: rows user ids, columns trial
    numbers, 0 = the defaults), and the two folds' choices."""
    folds = fold_of(scores.index, seed).reindex(scores.index)
    chosen = tuple(int(scores[folds == f].mean().idxmax()) if (folds == f).any() else 0 for f in (0, 1))
    other = np.where(folds.to_numpy() == 0, chosen[1], chosen[0])
    columns = scores.columns.get_indexer(other)
    return pd.Series(scores.to_numpy()[np.arange(len(scores)), columns], index=scores.index), chosen  # type: ignore[return-value]


def select(scores: pd.DataFrame, seed: int, repeats: int = REPEATS) -> Selection:
    """The best trial on all users, adopted when its cross-fitted gain over trial 0 is significant."""
    means = scores.mean()
    best = int(means.idxmax()) if means.notna().any() else 0
    if best == 0:
        return Selection(0, None, False)
    draws, fitted = [], []
    for r in range(repeats):
        values, chosen = cross_fitted_scores(scores, seed + r)
        fitted.append(values)
        draws.append(Draw(seed + r, chosen, uncertainty.paired_comparison(values, scores[0])))
    c = uncertainty.paired_comparison(pd.concat(fitted, axis=1).mean(axis=1), scores[0])
    return Selection(best, c, bool(c.significant and c.diff > 0), draws)


def one_look(scores: pd.DataFrame) -> Selection:
    """The rule :func:`select` replaces, kept to measure it (``bench/selection.py``): the best trial on
    all validation users, tested against the defaults on the same users."""
    means = scores.mean()
    best = int(means.idxmax())
    if best == 0:
        return Selection(0, None, False)
    c = uncertainty.paired_comparison(scores[best], scores[0])
    return Selection(best, c, bool(c.significant and c.diff > 0))


def stability_frame(chosen: Selection, params_of: dict[int, dict]) -> pd.DataFrame:
    """One row per draw: the trial each fold chose (and its values), the draw's cross-fitted gain and p."""
    rows = [
        {
            "draw_seed": d.seed,
            "fold_0_chose": f"#{d.chosen[0]} " + described(params_of.get(d.chosen[0], {})),
            "fold_1_chose": f"#{d.chosen[1]} " + described(params_of.get(d.chosen[1], {})),
            "cross_fitted_gain": d.comparison.diff,
            "p_value": d.comparison.p_value,
        }
        for d in chosen.draws
    ]
    return pd.DataFrame(rows, columns=["draw_seed", "fold_0_chose", "fold_1_chose", "cross_fitted_gain", "p_value"])


def described(params: dict) -> str:
    """``{"l2": 500.0, "weighting": "log"}`` -> ``l2=500, weighting=log``; no change -> the defaults."""
    shown = (f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items())
    return ", ".join(shown) or "the defaults"
