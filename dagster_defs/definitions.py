"""The Definitions object Dagster loads (``[tool.dagster] module_name``)."""

import dagster as dg

from dagster_defs.dbt import dbt_resource, recsys_dbt_assets

defs = dg.Definitions(
    assets=[recsys_dbt_assets],
    resources={"dbt": dbt_resource},
)
