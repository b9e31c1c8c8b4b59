"""Tuning assets: ``tuning/<model>`` chooses a model's hyperparameters on the validation window
(train split -> validation split; Optuna TPE, seeded, trial budget in the config). The training asset
takes the chosen parameters as its input and refits them on the whole train window."""

import dagster as dg

from dagster_defs.assets.common import (
    DAILY_MART,
    INTERACTION_MARTS,
    SEQUENCE_MART,
    SPLIT_MART,
    code_version,
    declared_features,
    md,
    skip,
)
from dagster_defs.assets.configs import TUNING_CONFIGS
from ml import threads, tuning
from ml.errors import CannotTrain
from ml.recommenders import RECOMMENDERS
from ml.two_stage import Attributes, TwoStageParams
from ml.warehouse import marts


def tuning_metadata(result: tuning.TuningResult) -> dict:
    return {
        "validation_ndcg@10": dg.MetadataValue.float(round(result.value, 4)),
        "default_validation_ndcg@10": dg.MetadataValue.float(round(result.default_value, 4)),
        "n_trials": len(result.trials),
        "tuning_seconds": dg.MetadataValue.float(round(result.seconds, 2)),
        "chosen": dg.MetadataValue.json(result.tuned or {"note": "the defaults"}),
        "decision": result.decision,
        "adopted": result.adopted,
        "stability": md(result.stability),
        "tuned_on": result.sample,
        "trials": md(result.trials),
    }


def build_tuning_asset(name: str) -> dg.AssetsDefinition:
    Config = TUNING_CONFIGS[name]  # noqa: N806 - a class chosen per model, used as the config annotation
    ranker = name == "two_stage"
    sequential = not ranker and RECOMMENDERS[name].reads_sequences

    @dg.asset(
        key=["tuning", name],
        group_name="tuning",
        deps=[*INTERACTION_MARTS, *([DAILY_MART, SPLIT_MART] if ranker else []), *([SEQUENCE_MART] if sequential else [])],
        kinds={"python", "optuna"},
        code_version=code_version("tuning", "evaluation", *(["two_stage"] if ranker else []), model=name),
        description=f"Hyperparameters of models/{name} chosen on the validation window "
        + ("(the ranker's last label window before the test window)" if ranker else "(fit on the train split)")
        + " by Optuna TPE (EASE: its regularisation path); trial 0 is the hand-picked default, and the best trial"
        " replaces it only if choosing it gains significantly on users it was not chosen on (cross-fitted over two"
        " folds of the validation users). The test window is not read.",
    )
    def tune(context: dg.AssetExecutionContext, config: Config) -> dg.Output:  # type: ignore[valid-type]
        n_trials, seed = config.n_trials, config.seed  # type: ignore[attr-defined]
        try:
            if ranker:
                defaults = TwoStageParams()
                data, windows = marts.load_ranker_inputs(defaults.label_days, defaults.n_train_windows)
                attrs = Attributes.of(declared_features())
                result = tuning.tune_ranker(data, windows, attrs, n_trials, seed, context.log.info, threads.lanes())
            else:
                data = marts.load_interactions(sequences=sequential)
                sample = config.max_users, config.max_items  # type: ignore[attr-defined]
                result = tuning.tune_recommender(name, data, declared_features(), n_trials, seed, context.log.info, *sample)
        except CannotTrain as exc:  # the training asset then uses the hand-picked defaults (or skips too)
            return dg.Output({}, metadata=skip(context, f"{exc}; models/{name} uses its defaults"))
        return dg.Output(result.params, metadata=tuning_metadata(result))

    return tune


tuning_assets = [build_tuning_asset(n) for n in tuning.TUNED]
