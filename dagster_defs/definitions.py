"""The Definitions object Dagster loads (``[tool.dagster] module_name``).

DuckDB allows one writing process per file. Three layers keep "materialize all" and concurrent runs
from failing on the lock: steps of a run execute one at a time (in-process executor), runs are
queued one at a time by the instance (data/dagster_home/dagster.yaml), and every warehouse
connection (Python: ml.warehouse.connect, dbt: profiles.yml retries) waits for a held lock.
"""

import dagster as dg

from dagster_defs.dbt import dbt_resource, leaderboard_dbt_assets, recsys_dbt_assets
from dagster_defs.models import evaluation_assets, evaluation_checks, training_assets
from dagster_defs.ranking import ranking_assets
from dagster_defs.resources import RecsysResource

materialize_all = dg.define_asset_job(
    "materialize_all", selection=dg.AssetSelection.all(),
    description="Raw seeds -> dbt marts -> models -> evaluations -> leaderboard",
)

retrain_schedule = dg.ScheduleDefinition(
    name="retrain_daily", job=materialize_all, cron_schedule="0 3 * * *",
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Rebuild features, retrain and re-evaluate every model daily at 03:00 (off by default)",
)

defs = dg.Definitions(
    assets=[recsys_dbt_assets, *training_assets, *evaluation_assets, *ranking_assets, leaderboard_dbt_assets],
    asset_checks=evaluation_checks,
    jobs=[materialize_all],
    schedules=[retrain_schedule],
    resources={"dbt": dbt_resource, "recsys": RecsysResource()},
    executor=dg.in_process_executor,
)
