"""Jobs and schedules. ``materialize_all`` is the main job (what ``recsys-pipeline`` runs): everything
but the opt-in feature ablation, which has its own job."""

import dagster as dg

from dagster_defs.assets.analysis import ABLATION_KEY
from ml import models, tuning

# the daily cycle (``recsys-pipeline --daily``, the retrain_daily schedule): what did not change is reused.
# A tuning keeps its choice while no distribution it read drifted past this PSI (and re-tunes weekly),
# but for the choices made per run that the inputs' drift does not track: the networks' epochs and the
# two-stage ranker's adoption (at 10M events their reused choices were significantly worse on the test
# window than a fresh tuning's: SASRec -0.0044, two-stage -0.0040); the click models continue from
# their last version, checked against a cold fit weekly (ml/warm_start.py)
DAILY_REUSE_BELOW_PSI = 0.1
RETUNED_DAILY = (*tuning.EPOCH_TUNED, "two_stage")
DAILY_OPS = {
    f"tuning__{n}": {"config": {"reuse_below_psi": DAILY_REUSE_BELOW_PSI}} for n in tuning.TUNED if n not in RETUNED_DAILY
} | {f"models__{n}": {"config": {"warm_start": True}} for n in models.CTR_MODELS}


def daily_run_config(op_names: set[str] | None = None) -> dict:
    """The daily cycle's run config, for the ops among ``op_names`` (None: all of them)."""
    return {"ops": {op: c for op, c in DAILY_OPS.items() if op_names is None or op in op_names}}


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
    run_config=daily_run_config(),
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Rebuild features, retrain and re-evaluate every model daily at 03:00 (off by default), as the daily "
    "cycle: tunings reused while their data has not drifted, click models warm-started (recsys-pipeline --daily)",
)
