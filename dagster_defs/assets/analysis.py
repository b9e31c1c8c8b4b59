"""Analyses (schema ``analysis``): each model's own answers for cold users and new items, and the
feature-group ablation of the two-stage ranker and the DCN. The ablation retrains both once per
feature group, so it is opt-in: job ``feature_ablation`` or ``recsys-pipeline --select '*'``."""

import dagster as dg
import pandas as pd

from dagster_defs.assets.common import (
    CTR_INPUTS,
    DAILY_MART,
    INTERACTION_MARTS,
    SPLIT_MART,
    THREAD_BUDGET,
    ModelArtifact,
    code_version,
    declared_features,
    md,
    store_analysis,
)
from ml import ablation, models
from ml.artifacts import load_model
from ml.ctr.features import skip_reason, split_examples
from ml.evaluation.cold_start import cold_start_metrics
from ml.feature_sets import FeatureSet
from ml.two_stage import GENERATORS, Attributes, TwoStageParams
from ml.warehouse import marts

ABLATION_DCN_EPOCHS = 4  # the full DCN is retrained with the same cap, so deltas compare like with like


@dg.asset(
    key=["analysis", "cold_start"],
    group_name="analysis",
    required_resource_keys=THREAD_BUDGET,
    deps=INTERACTION_MARTS,
    kinds={"python", "duckdb"},
    ins={name: dg.AssetIn(["models", name]) for name in models.RECOMMENDER_NAMES},
    code_version=code_version("evaluation"),
    description="Per model, NDCG/recall@10 for users with no train interactions (each model's own answer, "
    "no fallback), users with 1-3, and items new in the test window; table analysis.cold_start.",
)
def cold_start_analysis(context: dg.AssetExecutionContext, **trained: ModelArtifact) -> dg.MaterializeResult:
    data = marts.load_interactions()
    frame = pd.concat(
        [cold_start_metrics(load_model(a.path), data).assign(model=n, model_version=a.version) for n, a in trained.items()],
        ignore_index=True,
    )
    meta = store_analysis(context, frame, "cold_start")
    table = frame[frame["metric"] == "ndcg"].pivot_table(index="model", columns="slice", values="value")
    return dg.MaterializeResult(metadata={"ndcg@10 by slice": md(table, index=True), "table": meta["table"]})


@dg.asset(
    key=["analysis", "feature_ablation"],
    group_name="analysis",
    required_resource_keys=THREAD_BUDGET,
    deps=[DAILY_MART, *CTR_INPUTS, SPLIT_MART, *INTERACTION_MARTS],
    ins={name: dg.AssetIn(["models", name]) for name in GENERATORS},
    kinds={"python", "lightgbm", "pytorch"},
    code_version=code_version("ablation.py", "two_stage", "ctr"),
    description="Drop one feature group at a time: the two-stage ranker's test NDCG@10 and the DCN's test AUC "
    "against the full model (delta); table analysis.feature_ablation. Opt-in (retrains 13 models).",
)
def feature_ablation(context: dg.AssetExecutionContext, **generators: ModelArtifact) -> dg.MaterializeResult:
    params = TwoStageParams()
    data, windows = marts.load_ranker_inputs(params.label_days, params.n_train_windows)
    examples = marts.load_examples()
    frame = ablation.feature_ablation(
        data,
        windows,
        {n: load_model(a.path) for n, a in generators.items()},
        None if skip_reason(examples) else split_examples(examples),
        params,
        Attributes.of(declared := declared_features()),
        declared.get("ctr_examples", FeatureSet("ctr_examples")),
        ctr_epochs=ABLATION_DCN_EPOCHS,
        log=context.log.info,
    )
    meta = store_analysis(context, frame.assign(model_version=""), "feature_ablation", dropped_group="varchar", delta="double")
    return dg.MaterializeResult(
        metadata={"ablation": md(frame[["model", "dropped_group", "metric", "value", "delta"]]), "table": meta["table"]}
    )


analysis_assets = [cold_start_analysis, feature_ablation]
ABLATION_KEY = feature_ablation.key
