"""The two-stage ranker: LightGBM LambdaRank over the candidates of the published popularity,
item-item, ALS and EASE models, trained on label windows inside the train period."""

import time
from dataclasses import asdict

import dagster as dg
import pandas as pd

from dagster_defs.assets.common import (
    DAILY_MART,
    INTERACTION_MARTS,
    SPLIT_MART,
    ModelArtifact,
    code_version,
    data_origin,
    declared_features,
    features_metadata,
    md,
    new_version,
    skip,
)
from dagster_defs.assets.configs import CONFIGS, resolve_params
from dagster_defs.assets.training import artifact_metadata
from dagster_defs.execution import CRITICAL_PATH
from dagster_defs.resources import RecsysResource
from ml import feature_checks, models
from ml.artifacts import load_model
from ml.errors import CannotTrain
from ml.serving.publish import publish
from ml.two_stage import GENERATORS, REQUIRED_GENERATORS, Attributes, TwoStageParams, train_two_stage
from ml.warehouse import evaluation_store, marts

Config = CONFIGS["two_stage"]
GENERATOR_INS = {name: dg.AssetIn(["models", name]) for name in GENERATORS}


@dg.asset(
    key=["models", "two_stage"],
    group_name="models",
    deps=[DAILY_MART, SPLIT_MART, *INTERACTION_MARTS],
    ins={**GENERATOR_INS, "tuned": dg.AssetIn(["tuning", "two_stage"])},
    kinds={"python", "lightgbm"},
    op_tags=CRITICAL_PATH,
    code_version=code_version("two_stage", model="two_stage"),
    description=f"{models.MODELS['two_stage'].description} Trained on label windows inside the train period "
    "(marts.interactions_daily), early-stopped on the last one, with the parameters of tuning/two_stage "
    "(config values override them); serves with the published generators.",
)
def two_stage_model(
    context: dg.AssetExecutionContext,
    config: Config,  # type: ignore[valid-type]
    recsys: RecsysResource,
    tuned: dict,
    **generators: ModelArtifact,
) -> dg.Output:
    params = TwoStageParams(**resolve_params(config, tuned))  # type: ignore[arg-type]
    missing = [f"models/{n}: {a.skipped}" for n, a in generators.items() if a.skipped and n in REQUIRED_GENERATORS]
    published = {n: a for n, a in generators.items() if not a.skipped}  # EASE may skip (catalogue too large)
    try:
        if missing:
            raise CannotTrain("a candidate generator was skipped: " + "; ".join(missing))
        data, windows = marts.load_ranker_inputs(params.label_days, params.n_train_windows)
    except CannotTrain as exc:
        return dg.Output(ModelArtifact("two_stage", "", "", skipped=str(exc)), metadata=skip(context, str(exc)))
    t0 = time.perf_counter()
    attrs = Attributes.of(declared_features())
    model, info = train_two_stage(data, windows, {n: load_model(a.path) for n, a in published.items()}, params, attrs)
    seconds = time.perf_counter() - t0
    version = new_version(context)
    path = publish(recsys.artifacts_dir, "two_stage", version, model, data, data_origin())
    per_user = info["validation_users"]
    rows = pd.DataFrame({"row_key": per_user.index.to_numpy(), "label": float("nan"), "value": per_user.to_numpy()})
    window = feature_checks.rows_fingerprint(rows[["row_key"]].assign(cutoff=str(windows[1].cutoff)))
    identity = {
        "model_version": version,
        "run_id": context.run_id,
        "validation_window": window,
        "features": "+".join(fs.fingerprint for fs in model.features.values()),
        "feature_names": ",".join(f"{mart}.{n}" for mart, fs in model.features.items() for n in fs.names),
    }
    evaluation_store.write_validation_results("two_stage", identity, rows)
    return dg.Output(
        ModelArtifact(model="two_stage", version=version, path=str(path)),
        metadata={
            "best_iteration": info["best_iteration"],
            "train_rows": info["train_rows"],
            "train_positives": info["train_positives"],
            "validation_rows": info["validation_rows"],
            "validation_ndcg@10": dg.MetadataValue.float(round(info["validation_ndcg@10"], 4)),
            "feature_importance": md(info["feature_importance"]),
            **features_metadata(model.features),
            "generators": ", ".join(f"{n}@{published[n].version}" for n in model.generators),  # those it serves with
            **artifact_metadata(context, "two_stage", path, version, seconds, asdict(params)),
        },
    )


two_stage_assets = [two_stage_model]
