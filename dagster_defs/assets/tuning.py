"""Tuning assets: ``tuning/<model>`` chooses a model's hyperparameters on the validation window
(train split -> validation split; Optuna TPE, seeded, trial budget in the config). The training asset
takes the chosen parameters as its input and refits them on the whole train window.

With ``reuse_below_psi`` set (off by default: ``ml.tuning.spaces`` says why), a choice is reused,
without a search, while it still holds: same code version and budget as the last tuning, younger than
``retune_after_days``, and no distribution it read drifted past ``reuse_below_psi``
(``ml.tuning.drift``: the profile recorded with the choice against today's data).
A reused choice keeps the profile and the time of the tuning that made it, so drift and age add up
over the days that reuse it."""

from datetime import UTC, datetime

import dagster as dg

from dagster_defs.assets.common import (
    DAILY_MART,
    INTERACTION_MARTS,
    SEQUENCE_MART,
    SPLIT_MART,
    THREAD_BUDGET,
    code_version,
    declared_features,
    last_materialization,
    md,
    skip,
)
from dagster_defs.assets.configs import TUNING_CONFIGS
from dagster_defs.execution import CRITICAL_PATH
from ml import threads, tuning
from ml.errors import CannotTrain
from ml.recommenders import RECOMMENDERS
from ml.tuning import drift
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


REUSE_FIELDS = ("reuse_below_psi", "retune_after_days")  # what may change without a new search


def budget(config: dg.Config) -> dict:
    return {k: v for k, v in config.model_dump().items() if k not in REUSE_FIELDS}


def last_tuning(context: dg.AssetExecutionContext, config: dg.Config) -> tuple[dict | None, str]:
    """The record of the last tuning when its code version and budget are today's, else why not."""
    meta, run_id, why = last_materialization(context, "tuning")
    if why:
        return None, why
    if "profile" not in meta:  # it searched nothing (skipped)
        return None, "no earlier tuning to reuse"
    if meta["budget"] != budget(config):
        return None, "its budget changed since the last tuning"
    return {**{k: meta[k] for k in ("params", "profile", "tuned_at", "budget")}, "run_id": run_id}, ""


def psi_table(psis: dict[str, float]) -> dg.MetadataValue:
    return dg.MetadataValue.json({k: "new" if v == drift.NEW else round(v, 5) for k, v in psis.items()})


def reused(context: dg.AssetExecutionContext, config: dg.Config, data) -> tuple[dg.Output | None, dict]:
    """The last tuning's choice as today's output when it still holds (module docstring), else None
    and why not (for the new tuning's metadata)."""
    last, why = last_tuning(context, config)
    psis: dict[str, float] = {}
    if last is not None and data.fit is not None and data.validation is not None:
        tuned_at = datetime.fromisoformat(last["tuned_at"])
        keep, why, psis = drift.reuse(last["profile"], tuned_at, data, config.reuse_below_psi, config.retune_after_days)  # type: ignore[attr-defined]
        if keep:
            context.log.info(f"tuning reused: {why}")
            metadata = {
                "decision": f"reused the choice of run {last['run_id'][:8]}: {why}",
                "reused_from_run": last["run_id"],
                "drift_psi": psi_table(psis),
                **record_metadata(last["params"], last["profile"], last["tuned_at"], last["budget"]),
            }
            return dg.Output(last["params"], metadata=metadata), {}
    context.log.info(f"tuning: {why}")
    return None, {"tuned_because": why, **({"drift_psi": psi_table(psis)} if psis else {})}


def record_metadata(params: dict, profile: dict, tuned_at: str, budget: dict) -> dict:
    """What a later run needs to reuse this choice."""
    return {
        "params": dg.MetadataValue.json(params),
        "profile": dg.MetadataValue.json(profile),
        "tuned_at": tuned_at,
        "budget": dg.MetadataValue.json(budget),
    }


def build_tuning_asset(name: str) -> dg.AssetsDefinition:
    Config = TUNING_CONFIGS[name]  # noqa: N806 - a class chosen per model, used as the config annotation
    ranker = name == "two_stage"
    sequential = not ranker and RECOMMENDERS[name].reads_sequences

    @dg.asset(
        key=["tuning", name],
        group_name="tuning",
        required_resource_keys=THREAD_BUDGET,
        deps=[*INTERACTION_MARTS, *([DAILY_MART, SPLIT_MART] if ranker else []), *([SEQUENCE_MART] if sequential else [])],
        kinds={"python", "optuna"},
        op_tags=CRITICAL_PATH if ranker else None,
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
            data = marts.load_interactions(sequences=sequential)
            output, why = reused(context, config, data)
            if output is not None:
                return output
            if ranker:  # its windows only when it searches (the daily mart is the largest one)
                defaults = TwoStageParams()
                windows = marts.load_ranker_windows(data, defaults.label_days, defaults.n_train_windows)
                attrs = Attributes.of(declared_features())
                result = tuning.tune_ranker(data, windows, attrs, n_trials, seed, context.log.info, threads.lanes())
            else:
                sample = config.max_users, config.max_items  # type: ignore[attr-defined]
                result = tuning.tune_recommender(name, data, declared_features(), n_trials, seed, context.log.info, *sample)
        except CannotTrain as exc:  # the training asset then uses the hand-picked defaults (or skips too)
            return dg.Output({}, metadata=skip(context, f"{exc}; models/{name} uses its defaults"))
        record = record_metadata(result.params, drift.profile(data), datetime.now(UTC).isoformat(), budget(config))
        return dg.Output(result.params, metadata={**tuning_metadata(result), **why, **record})

    return tune


tuning_assets = [build_tuning_asset(n) for n in tuning.TUNED]
