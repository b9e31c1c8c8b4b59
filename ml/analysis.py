"""Analyses beyond the leaderboard: how models do on cold users and new items, and what each feature
group adds to the two-stage ranker and the DCN (drop one group, retrain, compare on the test window)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ml import metrics as M
from ml.ctr.deep import CTRModel
from ml.ctr.features import CTR_FEATURE_GROUPS
from ml.data import InteractionData
from ml.evaluation import METRIC_COLUMNS, evaluate, ranking_rows, relevant_items
from ml.ranking.features import FEATURE_GROUPS, FEATURES
from ml.ranking.ranker import TwoStageParams, TwoStageRecommender, fit_ranker, ranker_frames
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
    return pd.DataFrame(rows, columns=METRIC_COLUMNS)


def feature_ablation(
    data: InteractionData,
    windows,
    generators: dict[str, Scorer],
    ctr_splits: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame] | None,
    params: TwoStageParams,
    ctr_epochs: int = 4,
    log: Callable[[str], None] | None = None,
) -> pd.DataFrame:
    """Per model and dropped feature group (``none`` = the full model): the two-stage ranker's test
    NDCG@10 and the DCN's test AUC, with ``delta`` against the full model. Candidates and features are
    built once; the DCN runs ``ctr_epochs`` epochs for every variant, the full model included (no DCN
    rows when ``ctr_splits`` is None: the data has no impressions)."""
    rows = []
    train_frame, val_frame = ranker_frames(data, windows, params)
    for group in [None, *FEATURE_GROUPS]:
        features = [f for f in FEATURES if group is None or f not in FEATURE_GROUPS[group]]
        ranker = fit_ranker(train_frame, val_frame, params, features)
        rec = TwoStageRecommender(generators, ranker.booster_, windows[2], data.users, data.items, params.n_candidates, features)
        res = evaluate(rec, data, fallback=generators["popularity"], k_values=(10,))
        value = float(res[(res.metric == M.HEADLINE) & (res.slice == "all")]["value"].iloc[0])
        rows.append(("two_stage", group or "none", M.HEADLINE, 10, value))
        if log:
            log(f"two_stage without {group}: ndcg@10 {value:.4f}")
    if ctr_splits is not None:  # None: the data has no impressions
        train, val, test = ctr_splits
        for group in [None, *CTR_FEATURE_GROUPS]:
            model = CTRModel("dcn", epochs=ctr_epochs, drop_features=tuple(CTR_FEATURE_GROUPS.get(group or "", ()))).fit(
                train, val
            )
            auc = M.roc_auc(test["clicked"].to_numpy(), model.predict_proba(test))
            rows.append(("dcn", group or "none", "auc", 0, auc))
            if log:
                log(f"dcn without {group}: auc {auc:.4f}")
    frame = pd.DataFrame(rows, columns=["model", "dropped_group", "metric", "k", "value"])
    full = frame[frame["dropped_group"] == "none"].set_index("model")["value"]
    frame["delta"] = frame["value"] - frame["model"].map(full)
    return frame.assign(slice="drop:" + frame["dropped_group"], n_users=0)
