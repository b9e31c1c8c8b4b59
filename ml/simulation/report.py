"""What a simulation measured: per arm the online CTR (from the experiment marts) beside the model's
offline NDCG@10 (the leaderboard), and how well the two rankings agree: Kendall's tau between the arms'
online CTR and their offline NDCG@10, with a 95% interval from resampling each arm's users (the
offline figures held fixed: they come from the test window, not from this traffic)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import kendalltau


def tau_interval(per_user: pd.DataFrame, offline: pd.Series, n_boot: int = 1000, seed: int = 0) -> tuple[float, float, float]:
    """(tau, low, high): per_user has arm, exposures, clicks per user; offline is NDCG@10 by arm."""
    arms = [a for a in offline.index if a in set(per_user["arm"])]
    groups = {a: per_user[per_user["arm"] == a][["exposures", "clicks"]].to_numpy(np.float64) for a in arms}

    def tau(ctr: dict[str, float]) -> float:
        return float(kendalltau([ctr[a] for a in arms], offline[arms].to_numpy()).statistic)

    point = tau({a: g[:, 1].sum() / g[:, 0].sum() for a, g in groups.items()})
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(n_boot):
        ctr = {}
        for a, g in groups.items():
            sample = g[rng.integers(0, len(g), len(g))]
            ctr[a] = sample[:, 1].sum() / sample[:, 0].sum()
        draws.append(tau(ctr))
    low, high = np.nanquantile(draws, [0.025, 0.975])
    return point, float(low), float(high)


def table(online: pd.DataFrame) -> str:
    """The per-arm table as text (online CTR with its interval, offline NDCG@10 with its interval)."""
    lines = [f"{'arm':<12} {'model':<11} {'users':>6} {'exposures':>9}  {'online CTR [95% CI]':<26} offline NDCG@10 [95% CI]"]
    for r in online.sort_values("ctr", ascending=False).itertuples():
        offline = "" if pd.isna(r.ndcg_at_10) else f"{r.ndcg_at_10:.4f} [{r.ndcg_at_10_ci_low:.4f}, {r.ndcg_at_10_ci_high:.4f}]"
        lines.append(
            f"{r.arm:<12} {r.model:<11} {int(r.users):>6} {int(r.exposures):>9}  "
            f"{r.ctr:.4f} [{r.ctr_ci_low:.4f}, {r.ctr_ci_high:.4f}]{'':<4} {offline}"
        )
    return "\n".join(lines)
