"""Hyperparameters of every training asset as Dagster configs (Launchpad fields with descriptions),
generated from each model's hyperparameter dataclass, so a default is written once, in ml/.

For the models that ``tuning/<model>`` tunes, every field defaults to null: the training asset then
uses the tuned value (chosen on the validation window), and a value set in the config overrides it."""

from typing import Any

import dagster as dg
import pydantic

from ml import models, tuning, warm_start
from ml.hyperparams import describe
from ml.recommenders import RECOMMENDERS
from ml.training import click_model_params
from ml.two_stage import TwoStageParams

# how a click model is fit day to day (ml.warm_start), beside its hyperparameters
WARM_FIELDS: dict[str, Any] = {
    "warm_start": (
        bool,
        pydantic.Field(
            default=False,
            description="continue from the last published version (a few epochs or trees more) instead of fitting "
            "from scratch, checked against a cold fit every warm_check_days (ml/warm_start.py); false: from scratch",
        ),
    ),
    "warm_check_days": (
        float,
        pydantic.Field(default=warm_start.CHECK_DAYS, description="days between two checks of the warm start against a cold fit"),
    ),
}


def config_class(name: str, params_cls: type, extra: dict[str, Any] | None = None) -> type[dg.Config]:
    """A ``dg.Config`` with one described field per hyperparameter (tuples become lists); optional
    fields (default null = the tuned value) for the tuned models; then the ``extra`` fields."""
    tuned = name in tuning.TUNED
    fields: dict[str, Any] = {}
    for field, (default, doc) in describe(params_cls).items():
        kind: Any = list[type(default[0])] if isinstance(default, tuple) else type(default)  # type: ignore[misc]
        value = list(default) if isinstance(default, tuple) else default
        if tuned:
            fields[field] = (kind | None, pydantic.Field(default=None, description=f"{doc} (null: tuned; hand-picked {value!r})"))
        else:
            fields[field] = (kind, pydantic.Field(default=value, description=doc))
    title = "".join(part.title() for part in name.split("_")) + "Config"
    config = pydantic.create_model(title, __base__=dg.Config, **fields, **(extra or {}))
    config.__doc__ = f"Hyperparameters of {name}." if fields else "This model has no hyperparameters."
    return config


def tuning_config_class(name: str) -> type[dg.Config]:
    title = "".join(part.title() for part in name.split("_")) + "TuningConfig"
    config = pydantic.create_model(  # type: ignore[call-overload]
        title,
        __base__=dg.Config,
        n_trials=(int, pydantic.Field(default=tuning.DEFAULT_TRIALS[name], description="trial budget (trial 0 = the defaults)")),
        seed=(int, pydantic.Field(default=0, description="seed of the TPE sampler and of the sample")),
        reuse_below_psi=(
            float,
            pydantic.Field(
                default=tuning.REUSE_BELOW_PSI,
                description="reuse the last tuning's choice while every distribution it read has a population "
                "stability index below this, e.g. 0.1 (ml/tuning/drift.py); 0 (the default): tune every run",
            ),
        ),
        retune_after_days=(
            float,
            pydantic.Field(default=tuning.RETUNE_AFTER_DAYS, description="tune again once the last tuning is this old"),
        ),
        **(
            {}
            if name == "two_stage"  # its frames are bounded by max_users_per_window
            else {
                "max_users": (int, pydantic.Field(default=tuning.MAX_USERS, description="users tuned on, at most (seeded)")),
                "max_items": (int, pydantic.Field(default=tuning.MAX_ITEMS, description="items tuned on: the most chosen")),
            }
        ),
    )
    config.__doc__ = f"Budget of the validation-window search of {name}'s hyperparameters."
    return config


def resolve_params(config: dg.Config, tuned: dict[str, Any] | None) -> dict[str, Any]:
    """The parameters a training asset fits with: set config values, else the tuned ones, else defaults."""
    explicit = {k: v for k, v in config.model_dump().items() if v is not None and k not in WARM_FIELDS}
    return {**(tuned or {}), **explicit}


CONFIGS: dict[str, type[dg.Config]] = {
    **{name: config_class(name, cls.Params) for name, cls in RECOMMENDERS.items()},
    **{name: config_class(name, click_model_params(name), WARM_FIELDS) for name in models.CTR_MODELS},
    "two_stage": config_class("two_stage", TwoStageParams),
}
TUNING_CONFIGS = {name: tuning_config_class(name) for name in tuning.TUNED}
