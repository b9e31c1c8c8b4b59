"""Hyperparameters of every training asset as Dagster configs (Launchpad fields with descriptions),
generated from each model's hyperparameter dataclass, so a default is written once, in ml/."""

from typing import TYPE_CHECKING, Any

import dagster as dg
import pydantic

from ml.ctr.deep import CTRParams
from ml.ctr.gbdt import LightGBMCTRParams
from ml.hyperparams import describe
from ml.ranking.ranker import TwoStageParams
from ml.recommenders import RECOMMENDERS


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
    "dcn": config_class("ctr", CTRParams),
    "ctr_mlp": config_class("ctr", CTRParams),
    "lgbm_ctr": config_class("lgbm_ctr", LightGBMCTRParams),
    "two_stage": config_class("two_stage", TwoStageParams),
}
if TYPE_CHECKING:  # the type checker sees each generated class as what it is, a dg.Config
    CTRConfig = dg.Config
    LightGBMCTRConfig = dg.Config
    TwoStageConfig = dg.Config
else:
    CTRConfig, LightGBMCTRConfig, TwoStageConfig = CONFIGS["dcn"], CONFIGS["lgbm_ctr"], CONFIGS["two_stage"]
