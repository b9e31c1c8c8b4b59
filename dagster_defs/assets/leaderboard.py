"""The leaderboard: a dbt model over evaluation.results, the table the Python evaluation assets write
(its dbt source is the asset evaluation/results), so the lineage closes from raw data to every
model's metrics. Its materialization shows the table itself."""

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets

from dagster_defs.assets.common import md
from dagster_defs.project import LEADERBOARD, Translator, dbt_project
from dagster_defs.resources import RecsysResource, dbt_build
from ml.warehouse.connection import connect
from ml.warehouse.summary import leaderboard


@dbt_assets(manifest=dbt_project.manifest_path, dagster_dbt_translator=Translator(), select=LEADERBOARD, name="dbt_leaderboard")
def leaderboard_dbt_assets(context: dg.AssetExecutionContext, dbt: DbtCliResource, recsys: RecsysResource):
    """The leaderboard over evaluation.results (latest run per model), shown in its metadata."""
    events = list(dbt_build(context, dbt, recsys))  # the table is read once dbt has released the warehouse
    with connect() as con:
        board = md(leaderboard(con))
    for event in events:
        yield event.with_metadata({**event.metadata, "leaderboard": board}) if isinstance(event, dg.Output) else event
