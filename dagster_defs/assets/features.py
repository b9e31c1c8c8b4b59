"""The feature layer: dbt seeds, staging, intermediate and marts as Dagster assets. dbt tests are asset
checks; every materialization reports its row count and column schema."""

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets

from dagster_defs.project import LEADERBOARD, Translator, dbt_project, release_adapter_connection
from dagster_defs.resources import RecsysResource, dbt_build_args
from ml import settings


@dbt_assets(
    manifest=dbt_project.manifest_path, dagster_dbt_translator=Translator(), exclude=LEADERBOARD, name="dbt_feature_layer"
)
def feature_dbt_assets(context: dg.AssetExecutionContext, dbt: DbtCliResource, recsys: RecsysResource):
    """`dbt build` of the selected seeds and models, with their tests reported as asset checks."""
    settings.warehouse_path().parent.mkdir(parents=True, exist_ok=True)
    try:
        yield from dbt.cli(dbt_build_args(recsys), context=context).stream().fetch_row_counts().fetch_column_metadata()
    finally:
        release_adapter_connection()
