"""Declarative automation (dagster_defs.automation), evaluated by Dagster's own evaluator on the real
definitions: new raw data flows through the features at once, models retrain after the next cron tick
and their evaluations and the leaderboard follow; a changed SQL model rebuilds what depends on it."""

import datetime as dt
import warnings

import dagster as dg
import pytest

from dagster_defs.automation import FEATURE_GROUPS
from dagster_defs.definitions import defs
from ml import models

RAW_EVENTS = dg.AssetKey(["raw", "raw_events"])
REFERENCED = dg.AssetKey(["intermediate", "int_events_referenced"])


def requested(result) -> set[str]:
    return {k.to_user_string() for k, n in result._requested_partitions_by_asset_key.items() if n}


def checks_requested(result) -> set[str]:
    return {k.to_user_string() for r in result.results if isinstance(k := r.key, dg.AssetCheckKey) and r.true_subset.size}


@pytest.fixture(scope="module")
def graph():
    warnings.filterwarnings("ignore", category=dg.BetaWarning)
    return defs.resolve_asset_graph()


def below(graph, key: dg.AssetKey) -> set[dg.AssetKey]:
    """Everything downstream of ``key``, itself excluded."""
    return dg.AssetSelection.assets(key).downstream().resolve(graph) - {key}


def in_groups(graph, keys, groups) -> set[str]:
    return {k.to_user_string() for k in keys if graph.get(k).group_name in groups}


def record(instance, graph, keys, day: dt.datetime) -> None:
    """What a run would record (the event models partitioned by arrival day: every day until ``day``)."""
    for key in keys:
        partitions = graph.get(key).partitions_def
        for partition in partitions.get_partition_keys(current_time=day) if partitions else [None]:
            instance.report_runless_asset_event(dg.AssetMaterialization(key, partition=partition))


def test_new_data_flows_to_the_marts_at_once_and_retrains_the_models_after_the_tick(graph):
    every = graph.get_all_asset_keys()
    day = dt.datetime(2026, 1, 5)
    with dg.instance_for_test() as instance:
        cursor, checks = None, set()

        def tick(hour: int, minute: int) -> set[str]:
            nonlocal cursor, checks
            result = dg.evaluate_automation_conditions(
                defs=defs, instance=instance, cursor=cursor, evaluation_time=day.replace(hour=hour, minute=minute)
            )
            cursor, checks = result.cursor, checks_requested(result)
            return requested(result)

        def materialize(keys) -> None:
            record(instance, graph, keys, day)

        assert tick(1, 0) == set()  # opening the UI on an empty instance starts nothing
        materialize(every)
        assert tick(1, 1) == set() and tick(1, 2) == set()
        # new events before the day's 03:00 tick: the feature layer below them at once (the staged events,
        # partitioned by day, first: their latest day; the rest at the next evaluation, the reconciliation
        # that also counts the raw rows among it, after the staged data it compares), no training
        materialize([RAW_EVENTS])
        features = in_groups(graph, below(graph, RAW_EVENTS), FEATURE_GROUPS)
        by_day = {k for k in features if graph.get(dg.AssetKey(k.split("/"))).partitions_def is not None}
        readers = {k.to_user_string() for k in graph.get(RAW_EVENTS).child_keys}
        assert by_day == {"staging/stg_shop__events_validated"} and readers == by_day | {"marts/raw_row_counts"}
        assert tick(2, 0) == by_day
        materialize(dg.AssetKey(k.split("/")) for k in by_day)
        assert tick(2, 1) == features - by_day and "marts/interactions" in features
        materialize(dg.AssetKey(k.split("/")) for k in features - by_day)
        assert tick(2, 30) == set()
        # ... and the served models' staleness checks run against the rebuilt marts, before any retraining
        assert checks == {f"models/{n}:trained_on_the_newest_data" for n in models.SERVED}
        assert tick(2, 31) == set() and checks == set()
        assert tick(3, 1) == set()  # the tick, with nothing new since it: nothing retrains
        # new events after the tick: features, then retraining, evaluations and the leaderboard
        materialize([RAW_EVENTS])
        built = {k for k in every if graph.get(k).is_materializable}  # not the external evaluation.ctr_candidates
        retrain = in_groups(graph, built, ("tuning", "models", "evaluation", "leaderboard"))
        retrain |= {"analysis/cold_start", "analysis/feature_verdict"}
        retrain |= {"experiments/online_vs_offline"}  # online next to offline follows the new leaderboard
        assert tick(5, 0) == by_day
        materialize(dg.AssetKey(k.split("/")) for k in by_day)
        assert tick(5, 1) == (features - by_day) | retrain
        assert "analysis/feature_ablation" not in retrain  # opt-in
        materialize(dg.AssetKey(k.split("/")) for k in (features - by_day) | retrain)
        assert tick(5, 30) == set() and tick(12, 0) == set()  # once a day


def test_a_changed_sql_model_rebuilds_itself_and_what_reads_it(graph):
    with dg.instance_for_test() as instance:
        at = dt.datetime(2026, 1, 5, 12)
        record(instance, graph, graph.get_all_asset_keys(), at)
        before = dg.evaluate_automation_conditions(defs=defs, instance=instance, evaluation_time=at)
        before = dg.evaluate_automation_conditions(
            defs=defs, instance=instance, cursor=before.cursor, evaluation_time=at + dt.timedelta(minutes=1)
        )
        assert before.total_requested == 0

        def edit(spec: dg.AssetSpec) -> dg.AssetSpec:
            return spec.replace_attributes(code_version="edited") if spec.key == REFERENCED else spec

        edited = dg.Definitions(
            assets=[
                a if isinstance(a, dg.AssetSpec) else a.map_asset_specs(edit)
                for a in defs.assets  # type: ignore[union-attr]
            ],
            asset_checks=defs.asset_checks,
            resources=defs.resources,
            sensors=defs.sensors,
        )
        after = dg.evaluate_automation_conditions(
            defs=edited, instance=instance, cursor=before.cursor, evaluation_time=at + dt.timedelta(minutes=2)
        )
        features = in_groups(graph, {REFERENCED, *below(graph, REFERENCED)}, FEATURE_GROUPS)
        assert requested(after) == features and "marts/interactions" in features
