"""Evaluation assets: each model's test-window metrics, appended to ``evaluation.results`` (the source
the leaderboard reads, whose asset is ``evaluation/results``). A trained model is an input of its
evaluation, never looked up as latest."""

from pathlib import Path

import dagster as dg
import pandas as pd

from dagster_defs.assets.common import (
    CANDIDATE_MART,
    CTR_INPUTS,
    DAILY_MART,
    INTERACTION_MARTS,
    SEQUENCE_MART,
    THREAD_BUDGET,
    ModelArtifact,
    code_version,
    md,
    skip,
    store_results,
)
from dagster_defs.execution import CRITICAL_PATH, HOLDS_CTR_EXAMPLES
from dagster_defs.resources import RecsysResource
from ml import models
from ml.artifacts import load_model
from ml.ctr.features import split_examples
from ml.ctr.rerank import RerankScorer
from ml.evaluation import oracle, protocol
from ml.ingest.synthetic import GroundTruth
from ml.two_stage import candidate_recall
from ml.warehouse import evaluation_store, marts

KINDS = {"python", "duckdb"}
FALLBACK_IN = {"fallback": dg.AssetIn(["models", models.FALLBACK])}
RECALL_AT = (50, 100, 200)  # candidate recall of the two-stage model's union


def build_ranking_evaluation(name: str) -> dg.AssetsDefinition:
    """Ranking metrics of a recommender or the two-stage model; users without history get popularity."""
    ins = {"model": dg.AssetIn(["models", name]), **(FALLBACK_IN if name != models.FALLBACK else {})}
    two_stage = name == "two_stage"

    @dg.asset(
        key=["evaluation", name],
        group_name="evaluation",
        required_resource_keys=THREAD_BUDGET,
        ins=ins,
        deps=[*INTERACTION_MARTS, *([DAILY_MART] if two_stage else [])],
        kinds=KINDS,
        op_tags=CRITICAL_PATH if two_stage else None,
        code_version=code_version("evaluation", *(["two_stage"] if two_stage else [])),
        description=f"Test-window metrics of models/{name} (users without history served by popularity)"
        + (" and candidate recall@50/100/200" if two_stage else "")
        + ", with the paired tests against popularity and the previous run; appended to evaluation.results.",
    )
    def evaluate(context: dg.AssetExecutionContext, **inputs: ModelArtifact) -> dg.MaterializeResult:
        model = inputs["model"]
        if model.skipped:
            return dg.MaterializeResult(metadata=skip(context, f"models/{name} was skipped: {model.skipped}"))
        data = marts.load_interactions()
        trained = load_model(model.path)
        fb = load_model(inputs["fallback"].path) if "fallback" in inputs else trained
        frame, per_user = protocol.evaluate_users(trained, data, fallback=fb)
        meta: dict[str, dg.MetadataValue] = {}
        if two_stage:
            recall = candidate_recall(trained.generators, data.train, protocol.relevant_items(data), RECALL_AT)
            frame = pd.concat([frame, protocol.metric_frame([("all", "candidate_recall", n, v) for n, v in recall.items()])])
            meta = {f"candidate_recall@{n}": dg.MetadataValue.float(round(v, 4)) for n, v in recall.items()}
        # paired tests on the same users: against popularity (evaluated here on the same data) and
        # against this model's previous evaluation on the same test window
        baseline = protocol.headline_users(fb, data) if name != models.FALLBACK else None
        window = protocol.window_id(data)
        previous = evaluation_store.previous_user_results(name, window)
        frame = pd.concat([frame, protocol.comparison_rows(per_user, baseline, previous)], ignore_index=True)
        meta = {
            **store_results(context, frame, name, model.version, window),
            **meta,
            "test_window": dg.MetadataValue.text(window),
        }
        evaluation_store.write_user_results(name, per_user, context.run_id, model.version, window)
        return dg.MaterializeResult(metadata=meta)

    return evaluate


def build_ctr_evaluation(name: str) -> dg.AssetsDefinition:
    """AUC, log loss and calibration of a click model; the DCN also reranks ALS's top-50."""
    rerank = name == "dcn"
    ins = {"model": dg.AssetIn(["models", name]), **({"base": dg.AssetIn(["models", "als"]), **FALLBACK_IN} if rerank else {})}

    @dg.asset(
        key=["evaluation", name],
        group_name="evaluation",
        required_resource_keys=THREAD_BUDGET,
        ins=ins,
        kinds=KINDS,
        deps=[*CTR_INPUTS, *([*INTERACTION_MARTS, CANDIDATE_MART] if rerank else [])],
        op_tags=HOLDS_CTR_EXAMPLES,
        code_version=code_version("ctr", "evaluation"),
        description=f"Test-window AUC, log loss and calibration of models/{name}"
        + (" and the ranking metrics of ALS's top-50 reranked by it" if rerank else "")
        + "; appended to evaluation.results.",
    )
    def evaluate_ctr(context: dg.AssetExecutionContext, **inputs: ModelArtifact) -> dg.MaterializeResult:
        model = inputs["model"]
        if model.skipped:
            return dg.MaterializeResult(metadata=skip(context, f"models/{name} was skipped: {model.skipped}"))
        ctr = load_model(model.path)
        _, _, test = split_examples(marts.load_examples())
        frame, report = protocol.evaluate_ctr(ctr, test)
        window = ""
        if rerank:
            data = marts.load_interactions()
            base, fallback = (load_model(inputs[n].path) for n in ("base", "fallback"))
            ids = (data.users["user_id"].to_numpy(), data.items["item_id"].to_numpy())
            reranked = RerankScorer(base, ctr, *ids, data.train, features_for=marts.candidate_features)
            frame = pd.concat([frame, protocol.evaluate(reranked, data, fallback=fallback)], ignore_index=True)
            window = protocol.window_id(data)
        meta = store_results(context, frame, name, model.version, window)
        meta["calibration"] = md(pd.DataFrame(report["calibration"]))
        return dg.MaterializeResult(metadata=meta)

    return evaluate_ctr


@dg.asset(
    key=["evaluation", "oracle"],
    group_name="evaluation",
    deps=[*INTERACTION_MARTS, *CTR_INPUTS, SEQUENCE_MART],
    op_tags=HOLDS_CTR_EXAMPLES,
    kinds=KINDS,
    code_version=code_version("evaluation"),
    description=models.MODELS["oracle"].description + " Needs the generator's ground truth; skipped without it.",
)
def oracle_evaluation(context: dg.AssetExecutionContext, recsys: RecsysResource) -> dg.MaterializeResult:
    gt_path = Path(recsys.ground_truth_path)
    if not gt_path.exists():
        return dg.MaterializeResult(metadata=skip(context, f"no ground truth at {gt_path}: only synthetic data has an oracle"))
    examples = marts.load_examples()
    data = marts.load_interactions(sequences=True)  # a truth with order also scores what follows each last step
    frame = oracle.evaluate_oracle(GroundTruth.load(gt_path), data, examples[examples["split"] == "test"])
    return dg.MaterializeResult(metadata=store_results(context, frame, "oracle", gt_path.name, protocol.window_id(data)))


evaluation_assets = (
    [build_ranking_evaluation(n) for n in [*models.RECOMMENDER_NAMES, "two_stage"]]
    + [build_ctr_evaluation(n) for n in models.CTR_MODELS]
    + [oracle_evaluation]
)


@dg.asset(
    key=["evaluation", "results"],
    group_name="evaluation",
    required_resource_keys=THREAD_BUDGET,
    deps=[a.key for a in evaluation_assets],
    kinds=KINDS,
    code_version=code_version("evaluation", str(evaluation_store.SOURCES)),
    description="evaluation.results: the one long table every evaluation appends to (a row per run, model, slice, "
    "metric and k), the source of the leaderboard; its columns are declared in the dbt source evaluation.results.",
)
def evaluation_results(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    evaluation_store.ensure_tables()  # evaluations create them; an empty graph still gets a leaderboard
    summary = evaluation_store.results_summary()
    return dg.MaterializeResult(
        metadata={"dagster/row_count": int(summary["rows"].sum()), "runs per model": md(summary), "table": "evaluation.results"}
    )


# written a request at a time by whatever asks a click model to score pairs (the rerank evaluations), never
# materialized by a run: an external table in the lineage, upstream of the view marts.ctr_candidate_features
ctr_candidates = dg.AssetSpec(
    ["evaluation", "ctr_candidates"],
    group_name="evaluation",
    kinds={"python"},
    description="evaluation.ctr_candidates: the (user, item) pairs a click model is asked to score, one request_id per "
    "batch, written by ml.warehouse.marts.candidate_features; the view marts.ctr_candidate_features gives their features",
)
