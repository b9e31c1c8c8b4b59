"""Training assets: one per model, trained from the marts and published as a versioned artifact
(``data/models/<model>/<version>``, ``latest`` switched only once the artifact is complete)."""

import inspect
from pathlib import Path

import dagster as dg
import pandas as pd

from dagster_defs.assets.common import (
    CTR_INPUTS,
    INTERACTION_MARTS,
    ML_DIR,
    SEQUENCE_MART,
    SPLIT_MART,
    ModelArtifact,
    code_version,
    data_origin,
    declared_features,
    features_metadata,
    last_materialization,
    md,
    new_version,
    skip,
)
from dagster_defs.assets.configs import CONFIGS, resolve_params
from dagster_defs.execution import CRITICAL_PATH, HOLDS_CTR_EXAMPLES
from dagster_defs.resources import RecsysResource
from ml import feature_checks, models, tracking, training, tuning, warm_start
from ml.artifacts import load_model
from ml.ctr.features import skip_reason, split_examples
from ml.ctr.gbdt import LightGBMCTR
from ml.feature_sets import FeatureSet
from ml.recommenders import RECOMMENDERS, CannotTrain
from ml.serving.publish import publish
from ml.two_stage import GENERATORS
from ml.warehouse import evaluation_store, marts

KINDS = {"als": {"python", "implicit"}, "two_tower": {"python", "pytorch"}, "sasrec": {"python", "pytorch"}}


def artifact_metadata(
    context: dg.AssetExecutionContext, name: str, path: Path, version: str, seconds: float, params: dict
) -> dict:
    """The asset's metadata about its artifact; also logged to MLflow when tracking is on."""
    tracking.log(context.run_id, name, {**params, "artifact_path": str(path), "version": version}, {"training_seconds": seconds})
    return {
        "training_seconds": dg.MetadataValue.float(round(seconds, 3)),
        "artifact_path": dg.MetadataValue.path(str(path)),
        "artifact_version": version,
        "artifact_bytes": sum(f.stat().st_size for f in path.rglob("*") if f.is_file()),
        "hyperparameters": dg.MetadataValue.json(params),
    }


def history_metadata(history: list[dict]) -> dict:
    return {"epochs": md(pd.DataFrame(history))} if history else {}


def tuned_input(name: str) -> dict[str, dg.AssetIn]:
    """The ``tuning/<name>`` parameters, for the models that have a tuning asset."""
    return {"tuned": dg.AssetIn(["tuning", name])} if name in tuning.TUNED else {}


def build_recommender_asset(name: str) -> dg.AssetsDefinition:
    source = str(Path(inspect.getfile(RECOMMENDERS[name])).relative_to(ML_DIR))
    Config = CONFIGS[name]  # noqa: N806 - a class chosen per model, used as the config annotation
    tuned_note = " with the parameters of tuning/" + name + " (config values override them)" if name in tuning.TUNED else ""
    sequential = RECOMMENDERS[name].reads_sequences

    @dg.asset(
        key=["models", name],
        group_name="models",
        deps=[*INTERACTION_MARTS, SPLIT_MART, *([SEQUENCE_MART] if sequential else [])],
        ins=tuned_input(name),
        code_version=code_version(source, model=name),
        kinds=KINDS.get(name, {"python"}),
        op_tags=CRITICAL_PATH if name in GENERATORS else None,
        description=f"{models.MODELS[name].description} Trained on the train window of marts.interactions"
        f" (train + validation splits{', in step order: marts.user_sequences' if sequential else ''}){tuned_note}.",
    )
    def train(context: dg.AssetExecutionContext, config: Config, recsys: RecsysResource, **tuned: dict) -> dg.Output:  # type: ignore[valid-type]
        data = marts.load_interactions(sequences=sequential)
        params = resolve_params(config, tuned.get("tuned"))  # type: ignore[arg-type]
        try:
            model, seconds, left_out = training.train_recommender(name, params, data, declared_features(), log=context.log.info)
        except CannotTrain as exc:
            return dg.Output(ModelArtifact(name, "", "", skipped=str(exc)), metadata=skip(context, str(exc)))
        meta = {
            "n_users": data.n_users,
            "n_items": data.n_items,
            "train_interactions": int(data.train.nnz),
            "sample_recommendations": md(training.sample_recommendations(model, data)),
            **(features_metadata(model.features) if model.features else {}),
            **({"left_out_features": dg.MetadataValue.json(left_out)} if left_out else {}),
            **history_metadata(getattr(model, "history", [])),
        }
        version = new_version(context)
        path = publish(recsys.artifacts_dir, name, version, model, data, data_origin())
        return dg.Output(
            ModelArtifact(model=name, version=version, path=str(path)),
            metadata={**meta, **artifact_metadata(context, name, path, version, seconds, model.params)},
        )

    return train


def build_click_model_asset(name: str) -> dg.AssetsDefinition:
    Config = CONFIGS[name]  # noqa: N806 - a class chosen per model, used as the config annotation
    source = "ctr/deep.py" if name in models.CTR_NETWORKS else "ctr/gbdt.py"

    @dg.asset(
        key=["models", name],
        group_name="models",
        deps=[*CTR_INPUTS, SPLIT_MART],
        op_tags=HOLDS_CTR_EXAMPLES,
        kinds={"python", "pytorch" if name in models.CTR_NETWORKS else "lightgbm"},
        code_version=code_version(source, "ctr/features.py", "neural.py", "warm_start.py", model=name),
        description=f"{models.MODELS[name].description} Trained on the train blocks of marts.ctr_examples, "
        "early-stopped on the AUC of the latest. Skipped when the data has no impressions.",
    )
    def train_click(context: dg.AssetExecutionContext, config: Config, recsys: RecsysResource) -> dg.Output:  # type: ignore[valid-type]
        examples = marts.load_examples()
        if reason := skip_reason(examples):
            return dg.Output(ModelArtifact(name, "", "", skipped=reason), metadata=skip(context, reason))
        params = resolve_params(config, None)  # type: ignore[arg-type]
        features = declared_features().get("ctr_examples", FeatureSet("ctr_examples"))
        warm, check_days = config.warm_start, config.warm_check_days  # type: ignore[attr-defined]
        previous, why_not = last_version(context) if warm else (None, "")
        model, seconds, info = training.train_click_model(
            name, params, examples, features, context.log.info, previous, warm, check_days, why_not
        )
        context.log.info(f"{name}: fit {info['fit']}: {info['fit_reason']}")
        history = getattr(model, "history", [])
        version = new_version(context)
        path = publish(recsys.artifacts_dir, name, version, model, origin=data_origin())
        _, validation, _ = split_examples(examples)
        rows = feature_checks.click_validation_rows(model, validation)
        record_validation(context, name, version, rows, model.features)
        left_out = info.pop("left_out_features")
        meta = {
            **{k: dg.MetadataValue.json(v) if isinstance(v, dict) else v for k, v in info.items()},
            **features_metadata({"ctr_examples": model.features}),
            **({"left_out_features": dg.MetadataValue.json(left_out)} if left_out else {}),
            "feature_importance": md(click_importance(model, validation)),
            **({"best_validation_auc": dg.MetadataValue.float(round(max(h["val_auc"] for h in history), 4))} if history else {}),
            **history_metadata(history),
            **artifact_metadata(context, name, path, version, seconds, params),
        }
        return dg.Output(ModelArtifact(model=name, version=version, path=str(path)), metadata=meta)

    return train_click


def last_version(context: dg.AssetExecutionContext) -> tuple[warm_start.Previous | None, str]:
    """This click model's last published version and its warm-start state, to continue from; else why not."""
    meta, _, why = last_materialization(context, "version")
    state, path = meta.get("warm_start_state"), meta.get("artifact_path")
    if why or state is None or path is None:
        return None, why or "its last version has no warm-start state (fit before warm starts, or skipped)"
    if not Path(path).exists():
        return None, f"its last version's artifact is gone ({path})"
    return warm_start.Previous(load_model(path), state["checked_at"], state["verdict"]), ""


def click_importance(model, validation):
    """On the validation block: LightGBM's gain and contributions, or the networks' permutation importance."""
    if isinstance(model, LightGBMCTR):
        return feature_checks.contribution_importance(model.booster, model.input_frame(validation), model.features)
    return feature_checks.permutation_importance(model.predict_proba, validation, model.features)


def record_validation(context: dg.AssetExecutionContext, name: str, version: str, rows, features: FeatureSet) -> None:
    """What the model scored on its validation rows, for the feature verdict (analysis/feature_verdict)."""
    identity = {
        "model_version": version,
        "run_id": context.run_id,
        "validation_window": feature_checks.rows_fingerprint(rows[["row_key", "label"]]),
        "features": features.fingerprint,
        "feature_names": ",".join(features.names),
    }
    evaluation_store.write_validation_results(name, identity, rows)


training_assets = [build_recommender_asset(n) for n in models.RECOMMENDER_NAMES] + [
    build_click_model_asset(n) for n in models.CTR_MODELS
]
