"""The Definitions object Dagster loads (``[tool.dagster] module_name``).

DuckDB allows one writing process per file. Within a run, steps execute one at a time in the run's
process, or side by side in processes of their own (``dagster_defs/execution.py``: the run config's
``execution: config: processes``; recsys-pipeline chooses by the data's size); runs launched from the UI
are queued one at a time (``data/dagster_home/dagster.yaml``); and every warehouse connection,
Python's (``ml.warehouse.connect``) and dbt's (``retries`` in profiles.yml), waits for a held lock,
which is what lets steps side by side and two CLI runs (which bypass the queue) overlap without failing.
"""

import dagster as dg

from dagster_defs.assets.analysis import ABLATION_KEY, analysis_assets
from dagster_defs.assets.evaluation import ctr_candidates, evaluation_assets, evaluation_results
from dagster_defs.assets.features import entity_dbt_assets, events_by_day_dbt_assets, feature_dbt_assets, raw_assets
from dagster_defs.assets.leaderboard import leaderboard_dbt_assets
from dagster_defs.assets.live import live_assets, live_log, live_log_sensor
from dagster_defs.assets.training import training_assets
from dagster_defs.assets.tuning import tuning_assets
from dagster_defs.assets.two_stage import two_stage_assets
from dagster_defs.assets.verdict import feature_verdict
from dagster_defs.automation import automated, automation_sensor
from dagster_defs.changes import feature_change_sensor
from dagster_defs.checks import evaluation_checks, leak_checks, schema_checks
from dagster_defs.execution import steps_executor
from dagster_defs.freshness import model_freshness_checks, with_mart_freshness
from dagster_defs.jobs import feature_ablation_job, materialize_all, retrain_schedule
from dagster_defs.project import with_group_meaning
from dagster_defs.resources import RecsysResource, dbt_resource


def described(assets: list) -> list:
    """Every asset with its group's meaning in its metadata, and the marts the models read with their
    freshness policy."""

    def spec(s: dg.AssetSpec) -> dg.AssetSpec:
        return with_mart_freshness(with_group_meaning(s))

    return [a.map_asset_specs(spec) if isinstance(a, dg.AssetsDefinition) else spec(a) for a in assets]


defs = dg.Definitions(
    assets=described(
        automated(
            [
                *raw_assets,
                entity_dbt_assets,
                events_by_day_dbt_assets,
                feature_dbt_assets,
                *tuning_assets,
                *training_assets,
                *two_stage_assets,
                *evaluation_assets,
                evaluation_results,
                leaderboard_dbt_assets,
                *analysis_assets,
                feature_verdict,
                *live_assets,
            ],
            opt_in={ABLATION_KEY},
        )
        + [ctr_candidates, live_log]
    ),
    asset_checks=[*evaluation_checks, *schema_checks, *leak_checks, *model_freshness_checks],
    jobs=[materialize_all, feature_ablation_job],
    schedules=[retrain_schedule],
    sensors=[automation_sensor, feature_change_sensor, live_log_sensor],
    resources={"dbt": dbt_resource(), "recsys": RecsysResource()},
    executor=steps_executor,
)
