"""Declarative automation: what brings the graph up to date without a hand-started run.

- The feature layer (seeds, staging, intermediate, marts) is eager: it follows new upstream data, and a
  model whose SQL changed (its code version, dbt's checksum of the file) rebuilds with what depends
  on it. A seed file with new rows is a code change of the seed. Below staging, models follow the
  staged data, not a raw table they also read.
- Tuning and training retrain on a cron tick (RETRAIN_CRON, daily 03:00 UTC), once every mart they
  read has been updated since the tick: a day without new data retrains nothing.
- Evaluations, the cold-start analysis and the leaderboard follow their models eagerly: a new model
  version is evaluated at once. Mart updates alone do not re-evaluate an old model. An evaluation
  without a model (the oracle's) retrains with the models, on the tick.
- The experiment marts follow the live log (loaded when the sensor ``live_log`` sees new rows) and the
  leaderboard eagerly.
- The feature ablation stays opt-in (its own job).

The conditions run when the sensor ``recsys_automation`` is on (Automation tab of the UI, off by
default like the ``retrain_daily`` schedule, which stays as the simpler option).
"""

import dagster as dg

RETRAIN_CRON = "0 3 * * *"
FEATURE_GROUPS = ("raw", "staging", "intermediate", "marts")
RETRAIN_GROUPS = ("tuning", "models")
FOLLOW_GROUPS = ("evaluation", "analysis", "leaderboard")

CODE_CHANGED = dg.AutomationCondition.code_version_changed() & ~dg.AutomationCondition.in_progress()
FEATURES = (dg.AutomationCondition.eager() | CODE_CHANGED).with_label("eager, or its code changed")
# below staging, a model follows the staged data, not the raw tables it may also read (marts.raw_row_counts
# counts the raw rows): were it eager on them, it would run beside the staged events, against stale staging
AFTER_STAGING = (dg.AutomationCondition.eager().ignore(dg.AssetSelection.groups("raw")) | CODE_CHANGED).with_label(
    "eager on the staged data, or its code changed"
)
RETRAIN = dg.AutomationCondition.on_cron(RETRAIN_CRON)
FOLLOW_MODELS = dg.AutomationCondition.eager().ignore(dg.AssetSelection.groups(*FEATURE_GROUPS)).with_label("eager on its models")


def condition_for(spec: dg.AssetSpec, opt_in: set[dg.AssetKey]) -> dg.AutomationCondition | None:
    if spec.key in opt_in:
        return None
    if spec.group_name in ("intermediate", "marts"):
        return AFTER_STAGING
    if spec.group_name in (*FEATURE_GROUPS, "experiments"):  # the experiment marts follow the live log and the leaderboard
        return FEATURES
    if spec.group_name in RETRAIN_GROUPS:
        return RETRAIN
    if spec.group_name in FOLLOW_GROUPS:
        follows = any(dep.asset_key.path[0] in (*RETRAIN_GROUPS, *FOLLOW_GROUPS) for dep in spec.deps)
        return FOLLOW_MODELS if follows else RETRAIN
    return None


def automated(assets: list[dg.AssetsDefinition], opt_in: set[dg.AssetKey]) -> list[dg.AssetsDefinition]:
    """``assets`` with the automation condition of their group (see the module's docstring)."""
    return [
        a.map_asset_specs(lambda spec: spec.replace_attributes(automation_condition=condition_for(spec, opt_in))) for a in assets
    ]


automation_sensor = dg.AutomationConditionSensorDefinition(
    "recsys_automation",
    target=dg.AssetSelection.all(),
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Evaluates the assets' automation conditions: features follow new data and changed SQL, models "
    f"retrain on '{RETRAIN_CRON}' after new data, evaluations and the leaderboard follow new models",
)
