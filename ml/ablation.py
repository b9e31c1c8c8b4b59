"""What each feature group adds: drop one group, retrain the two-stage ranker and the DCN, compare
with the full model on the test window (the opt-in ``analysis/feature_ablation``)."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from ml.ctr.deep import CTRModel
from ml.ctr.features import CTR_FEATURE_GROUPS
from ml.evaluation import metrics as M
from ml.evaluation.protocol import evaluate
from ml.interactions import InteractionData
from ml.recommenders.base import Scorer
from ml.two_stage import FEATURE_GROUPS, FEATURES, TwoStageParams, TwoStageScorer, ranker_frames, train_ranker


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
        ranker = train_ranker(train_frame, val_frame, params, features)
        rec = TwoStageScorer(generators, ranker.booster_, windows[2], data.users, data.items, params.n_candidates, features)
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
