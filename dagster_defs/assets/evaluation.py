"""Evaluation assets: each model's test-window metrics, appended to ``evaluation.<model>`` (the
leaderboard's sources). A trained model is an input of its evaluation, never looked up as latest."""

from pathlib import Path

import dagster as dg
import pandas as pd

from dagster_defs.assets.common import (
    CTR_MART,
    DAILY_MART,
    INTERACTION_MARTS,
    ModelArtifact,
    code_version,
    md,
    skip,
    store_metrics,
)
from dagster_defs.resources import RecsysResource
from ml import catalog, evaluation, warehouse
from ml.ctr.features import load_examples, split_examples
from ml.ctr.rerank import evaluate_rerank
from ml.data import load_interactions
from ml.ranking.ranker import evaluate_two_stage
from ml.synthetic import GroundTruth

KINDS = {"python", "duckdb"}
FALLBACK_IN = {"fallback": dg.AssetIn(["models", catalog.FALLBACK])}


def build_ranking_evaluation(name: str) -> dg.AssetsDefinition:
    """Ranking metrics of a recommender or the two-stage model; users without history get popularity."""
    ins = {"model": dg.AssetIn(["models", name]), **(FALLBACK_IN if name != catalog.FALLBACK else {})}
    deps = [*INTERACTION_MARTS, *([DAILY_MART] if name == "two_stage" else [])]

    @dg.asset(
        key=["evaluation", name],
        group_name="evaluation",
        ins=ins,
        deps=deps,
        kinds=KINDS,
        code_version=code_version("evaluation.py", "metrics.py", *(["ranking"] if name == "two_stage" else [])),
        description=f"Test-window metrics of models/{name} (users without history served by popularity)"
        + (" and candidate recall@50/100/200" if name == "two_stage" else "")
        + f"; appended to evaluation.{name}.",
    )
    def evaluate(context: dg.AssetExecutionContext, recsys: RecsysResource, **inputs: ModelArtifact) -> dg.MaterializeResult:
        model = inputs["model"]
        if model.skipped:
            return dg.MaterializeResult(metadata=skip(context, f"models/{name} was skipped: {model.skipped}"))
        data = load_interactions(recsys.warehouse_path)
        trained = catalog.load_model(model.path)
        fb = catalog.load_model(inputs["fallback"].path) if "fallback" in inputs else trained
        meta: dict[str, dg.MetadataValue] = {}
        if name == "two_stage":
            frame, recall, per_user = evaluate_two_stage(trained, data, fallback=fb)
            meta = {f"candidate_recall@{n}": dg.MetadataValue.float(round(v, 4)) for n, v in recall.items()}
        else:
            frame, per_user = evaluation.evaluate_users(trained, data, fallback=fb)
        # paired tests on the same users: against popularity (evaluated here on the same data) and
        # against this model's previous evaluation on the same test window
        baseline = evaluation.headline_users(fb, data) if name != catalog.FALLBACK else None
        window = evaluation.window_id(data)
        previous = warehouse.previous_user_metrics(name, window, recsys.warehouse_path)
        frame = pd.concat([frame, evaluation.comparison_rows(per_user, baseline, previous)], ignore_index=True)
        meta = {
            **store_metrics(context, frame, name, model.version, recsys),
            **meta,
            "test_window": dg.MetadataValue.text(window),
        }
        warehouse.write_user_metrics(name, per_user, context.run_id, model.version, window, recsys.warehouse_path)
        return dg.MaterializeResult(metadata=meta)

    return evaluate


def build_ctr_evaluation(name: str) -> dg.AssetsDefinition:
    """AUC, log loss and calibration of a click model; the DCN also reranks ALS's top-50."""
    rerank = name == "dcn"
    ins = {"model": dg.AssetIn(["models", name]), **({"base": dg.AssetIn(["models", "als"]), **FALLBACK_IN} if rerank else {})}

    @dg.asset(
        key=["evaluation", name],
        group_name="evaluation",
        ins=ins,
        kinds=KINDS,
        deps=[CTR_MART, *(INTERACTION_MARTS if rerank else [])],
        code_version=code_version("ctr", "evaluation.py", "metrics.py"),
        description=f"Test-window AUC, log loss and calibration of models/{name}"
        + (" and the ranking metrics of ALS's top-50 reranked by it" if rerank else "")
        + f"; appended to evaluation.{name}.",
    )
    def evaluate_ctr(context: dg.AssetExecutionContext, recsys: RecsysResource, **inputs: ModelArtifact) -> dg.MaterializeResult:
        model = inputs["model"]
        if model.skipped:
            return dg.MaterializeResult(metadata=skip(context, f"models/{name} was skipped: {model.skipped}"))
        ctr = catalog.load_model(model.path)
        _, _, test = split_examples(load_examples(recsys.warehouse_path))
        frame, report = evaluation.evaluate_ctr(ctr, test)
        if rerank:
            data = load_interactions(recsys.warehouse_path)
            base, fallback = (catalog.load_model(inputs[n].path) for n in ("base", "fallback"))
            frame = pd.concat([frame, evaluate_rerank(base, ctr, data, fallback)], ignore_index=True)
        meta = store_metrics(context, frame, name, model.version, recsys)
        meta["calibration"] = md(pd.DataFrame(report["calibration"]))
        return dg.MaterializeResult(metadata=meta)

    return evaluate_ctr


@dg.asset(
    key=["evaluation", "oracle"],
    group_name="evaluation",
    deps=[*INTERACTION_MARTS, CTR_MART],
    kinds=KINDS,
    code_version=code_version("evaluation.py", "metrics.py", "synthetic"),
    description=catalog.MODELS["oracle"].description + " Needs the generator's ground truth; skipped without it.",
)
def oracle_evaluation(context: dg.AssetExecutionContext, recsys: RecsysResource) -> dg.MaterializeResult:
    gt_path = Path(recsys.ground_truth_path)
    if not gt_path.exists():
        return dg.MaterializeResult(metadata=skip(context, f"no ground truth at {gt_path}: only synthetic data has an oracle"))
    examples = load_examples(recsys.warehouse_path)
    test = examples[examples["split"] == "test"]
    frame = evaluation.evaluate_oracle(GroundTruth.load(gt_path), load_interactions(recsys.warehouse_path), test)
    return dg.MaterializeResult(metadata=store_metrics(context, frame, "oracle", gt_path.name, recsys))


evaluation_assets = (
    [build_ranking_evaluation(n) for n in [*catalog.RECOMMENDER_NAMES, "two_stage"]]
    + [build_ctr_evaluation(n) for n in [*catalog.CTR_NETWORKS, "lgbm_ctr"]]
    + [oracle_evaluation]
)
