"""From a change to its result in one run: the assets whose code changed since their last
materialization (a model's SQL or any macro it calls, the features declared for a Python model, its
ml/ code; ``dagster_defs.project.Translator`` and ``assets.common.code_version``), or that were never
materialized, and everything downstream of them: retraining, evaluations, the leaderboard and the
feature verdict. What ``recsys-pipeline --changed`` runs, and what the sensor ``feature_change`` (off
by default, like the schedule) requests as soon as the code location loads a change, without waiting
for the daily cron, which stays for new data.
"""

import hashlib

import dagster as dg

from dagster_defs.jobs import MAIN_SELECTION


def changed_keys(instance: dg.DagsterInstance, graph) -> list[dg.AssetKey]:
    """The main job's assets whose code version differs from their latest materialization's, or that
    were never materialized while others were (a new mart)."""
    keys = sorted(MAIN_SELECTION.resolve(graph), key=lambda k: k.to_user_string())
    materialized = instance.get_latest_materialization_code_versions(keys)
    if not any(v is not None for v in materialized.values()):
        return []  # nothing built yet: that is the main job, not a change
    return [key for key in keys if changed(materialized[key], graph.get(key).code_version)]


def changed(materialized: str | None, current: str | None) -> bool:
    """Never materialized (a new mart), or materialized with other code. An asset without a code version
    (the raw-file step: its input is data, not code) changes with its data, never here."""
    return materialized is None or (current is not None and materialized != current)


def changed_selection(instance: dg.DagsterInstance, graph) -> tuple[list[dg.AssetKey], list[dg.AssetKey]]:
    """(the changed assets, them and everything downstream of them in the main job)."""
    changed = changed_keys(instance, graph)
    if not changed:
        return [], []
    downstream = (dg.AssetSelection.assets(*changed).downstream() & MAIN_SELECTION).resolve(graph)
    return changed, sorted(downstream, key=lambda k: k.to_user_string())


@dg.sensor(
    name="feature_change",
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="When a code location loads a change (a mart's SQL or a macro it calls, a feature declared in a "
    "mart's yml, a model's code), one run of the changed assets and everything downstream of them: the models "
    "that read a changed feature mart retrain at once, then the evaluations, the leaderboard and the feature verdict",
)
def feature_change_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
    graph = context.repository_def.asset_graph  # type: ignore[union-attr]  # a sensor always runs in its repository
    changed, selection = changed_selection(context.instance, graph)
    if not changed:
        return dg.SkipReason("no asset's code changed since its last materialization")
    versions = "|".join(f"{k.to_user_string()}={graph.get(k).code_version}" for k in changed)
    return dg.SensorResult(
        run_requests=[dg.RunRequest(run_key=hashlib.sha256(versions.encode()).hexdigest()[:16], asset_selection=selection)]
    )
