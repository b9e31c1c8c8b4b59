"""Hyperparameters of every training asset as Dagster configs (Launchpad fields with descriptions),
generated from each model's hyperparameter dataclass, so a default is written once, in ml/."""

from typing import Any

import dagster as dg
import pydantic

from ml.catalog import CTR_NETWORKS
from ml.hyperparams import describe
from ml.ranking.ranker import TwoStageParams
from ml.recommenders import RECOMMENDERS
from ml.training import click_model_params


def config_class(name: str, params_cls: type) -> type[dg.Config]:
    """A ``dg.Config`` with one described field per hyperparameter (tuples become lists)."""
    fields: dict[str, Any] = {}
    for field, (default, doc) in describe(params_cls).items():
        if isinstance(default, tuple):
            fields[field] = (list[type(default[0])], pydantic.Field(default=list(default), description=doc))  # type: ignore[misc]
        else:
            fields[field] = (type(default), pydantic.Field(default=default, description=doc))
    title = "".join(part.title() for part in name.split("_")) + "Config"
    config = pydantic.create_model(title, __base__=dg.Config, **fields)
    config.__doc__ = f"Hyperparameters of {name}." if fields else "This model has no hyperparameters."
    return config


CONFIGS: dict[str, type[dg.Config]] = {
    **{name: config_class(name, cls.Params) for name, cls in RECOMMENDERS.items()},
    **{name: config_class(name, click_model_params(name)) for name in [*CTR_NETWORKS, "lgbm_ctr"]},
    "two_stage": config_class("two_stage", TwoStageParams),
}
