"""What each feature group adds: drop one group, retrain the two-stage ranker and the DCN, compare
with the full model on the test window (the opt-in ``analysis/feature_ablation``)."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from ml.ctr.deep import CTRModel
from ml.evaluation import metrics as M
from ml.evaluation.protocol import evaluate
from ml.feature_sets import FeatureSet
from ml.interactions import InteractionData
from ml.recommenders.base import Scorer
from ml.two_stage import Attributes, TwoStageParams, TwoStageScorer, ranker_frames, train_ranker


def feature_ablation(
    data: InteractionData,
    windows,
    generators: dict[str, Scorer],
    ctr_splits: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame] | None,
    params: TwoStageParams,
    attrs: Attributes,
    ctr_features: FeatureSet,
    ctr_epochs: int = 4,
    log: Callable[[str], None] | None = None,
) -> pd.DataFrame:
    """Per model and dropped feature group (``none`` = the full model): the two-stage ranker's test
    NDCG@10 and the DCN's test AUC, with ``delta`` against the full model. Candidates and features are
    built once; the DCN runs ``ctr_epochs`` epochs for every variant, the full model included (no DCN
    rows when ``ctr_splits`` is None: the data has no impressions). The DCN's groups are the ones the
    ctr_examples yml declares."""
    rows = []
    train_frame, val_frame = ranker_frames(data, windows, params, attrs)
    groups = attrs.groups()
    for group in [None, *groups]:
        features = [f for f in attrs.features if group is None or f not in groups[group]]
        ranker = train_ranker(train_frame, val_frame, params, features)
        rec = TwoStageScorer(generators, ranker.booster_, windows[2], data.users, data.items, attrs, params.n_candidates)
        res = evaluate(rec, data, fallback=generators["popularity"], k_values=(10,))
        value = float(res[(res.metric == M.HEADLINE) & (res.slice == "all")]["value"].iloc[0])
        rows.append(("two_stage", group or "none", M.HEADLINE, 10, value))
        if log:
            log(f"two_stage without {group}: ndcg@10 {value:.4f}")
    if ctr_splits is not None:  # None: the data has no impressions
        train, val, test = ctr_splits
        dcn_features = ctr_features.for_model("dcn")
        for group in [None, *dcn_features.groups]:
            kept = dcn_features.without(dcn_features.groups.get(group or "", ()))
            model = CTRModel("dcn", epochs=ctr_epochs).fit(train, val, kept)
            auc = M.roc_auc(test["clicked"].to_numpy(), model.predict_proba(test))
            rows.append(("dcn", group or "none", "auc", 0, auc))
            if log:
                log(f"dcn without {group}: auc {auc:.4f}")
    frame = pd.DataFrame(rows, columns=["model", "dropped_group", "metric", "k", "value"])
    full = frame[frame["dropped_group"] == "none"].set_index("model")["value"]
    frame["delta"] = frame["value"] - frame["model"].map(full)
    return frame.assign(slice="drop:" + frame["dropped_group"], n_users=0)
