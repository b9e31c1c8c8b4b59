"""How models do on cold users and new items with their own lists (no fallback): the cold-start
analysis beside the leaderboard."""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ml.evaluation import metrics as M
from ml.evaluation.protocol import metric_frame, ranking_rows, relevant_items
from ml.interactions import InteractionData
from ml.recommenders.base import Scorer


def cold_start_metrics(model: Scorer, data: InteractionData, k: int = 10, few: int = 3) -> pd.DataFrame:
    """NDCG and recall@k of the model's own lists (no fallback) for users with no train interactions,
    users with 1..``few``, and relevance restricted to items new in the test window."""
    rel = relevant_items(data)
    n_rel_all = M.n_relevant(rel)
    new_mask = data.items["is_new_item"].to_numpy() == 1
    new_relevant = M.n_relevant(sp.csr_matrix(rel.multiply(new_mask[None, :].astype(np.float32))))
    # only the users some slice counts are scored (a user with history and no new item counts in none)
    users = np.flatnonzero((n_rel_all > 0) & ((np.diff(data.train.indptr) <= few) | (new_relevant > 0)))
    recs, _ = model.recommend(users, k, exclude=data.train)
    n_train = np.diff(data.train.indptr)[users]
    h = M.hits(recs, rel[users])
    rel_new = sp.csr_matrix(rel[users].multiply(new_mask[None, :].astype(np.float32)))
    slices = {
        "cold_users": (h[n_train == 0], n_rel_all[users][n_train == 0]),
        f"users_1_to_{few}_interactions": (
            h[(n_train >= 1) & (n_train <= few)],
            n_rel_all[users][(n_train >= 1) & (n_train <= few)],
        ),
        "new_items": (M.hits(recs, rel_new), M.n_relevant(rel_new)),
    }
    rows = []
    for name, (hs, nr) in slices.items():
        rows += [
            (name, metric, k, value, int((nr > 0).sum()), lo, hi)
            for metric, k, value, lo, hi in ranking_rows(hs, nr, [k])
            if metric in ("ndcg", "recall")
        ]
    return metric_frame(rows)
