"""Jobs and schedules. ``materialize_all`` is the main job (what ``recsys-pipeline`` runs): everything
but the opt-in feature ablation, which has its own job."""

import dagster as dg

from dagster_defs.assets.analysis import ABLATION_KEY

MAIN_SELECTION = dg.AssetSelection.all() - dg.AssetSelection.assets(ABLATION_KEY)

materialize_all = dg.define_asset_job(
    "materialize_all",
    selection=MAIN_SELECTION,
    description="Raw seeds -> dbt marts -> models -> evaluations -> leaderboard, and the cold-start analysis "
    "(the feature ablation is the separate job `feature_ablation`)",
)
feature_ablation_job = dg.define_asset_job(
    "feature_ablation",
    selection=dg.AssetSelection.assets(ABLATION_KEY),
    description="Retrain the two-stage ranker and the DCN without each feature group (needs the generators)",
)
retrain_schedule = dg.ScheduleDefinition(
    name="retrain_daily",
    job=materialize_all,
    cron_schedule="0 3 * * *",
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Rebuild features, retrain and re-evaluate every model daily at 03:00 (off by default)",
)
