"""The feature layer: dbt seeds, staging, intermediate and marts as Dagster assets. dbt tests are asset
checks; every materialization reports its row count and column schema."""

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets

from dagster_defs.project import LEADERBOARD, Translator, dbt_project
from dagster_defs.resources import RecsysResource, dbt_build
from ml import settings


@dbt_assets(
    manifest=dbt_project.manifest_path, dagster_dbt_translator=Translator(), exclude=LEADERBOARD, name="dbt_feature_layer"
)
def feature_dbt_assets(context: dg.AssetExecutionContext, dbt: DbtCliResource, recsys: RecsysResource):
    """`dbt build` of the selected seeds and models, with their tests reported as asset checks."""
    settings.warehouse_path().parent.mkdir(parents=True, exist_ok=True)
    yield from dbt_build(context, dbt, recsys)
