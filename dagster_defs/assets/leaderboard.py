"""The leaderboard: a dbt model over the evaluation tables the Python assets write, so the lineage
closes from raw data to every model's metrics. Its materialization shows the table itself."""

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets

from dagster_defs.assets.common import md
from dagster_defs.project import LEADERBOARD, Translator, dbt_project, release_adapter_connection
from dagster_defs.resources import RecsysResource, dbt_build_args
from ml import warehouse
from ml.summary import BOARD_COLUMNS


@dbt_assets(manifest=dbt_project.manifest_path, dagster_dbt_translator=Translator(), select=LEADERBOARD, name="dbt_leaderboard")
def leaderboard_dbt_assets(context: dg.AssetExecutionContext, dbt: DbtCliResource, recsys: RecsysResource):
    """The leaderboard over the evaluation tables (latest run per model), shown in its metadata."""
    # read the table only once dbt has exited and the row count's adapter connection is closed
    try:
        events = list(dbt.cli(dbt_build_args(recsys), context=context).stream().fetch_row_counts().fetch_column_metadata())
    finally:
        release_adapter_connection()
    board = warehouse.query_df("select * from marts.leaderboard order by ndcg_at_10 desc nulls last", recsys.warehouse_path)
    for event in events:
        if isinstance(event, dg.Output):
            event = event.with_metadata({**event.metadata, "leaderboard": md(board[[c for c in BOARD_COLUMNS if c in board]])})
        yield event
