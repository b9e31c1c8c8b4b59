"""The feature layer: the raw data (dbt seeds, or raw files loaded by the step ``raw_files``), staging,
intermediate and marts as Dagster assets. dbt tests are asset checks; every materialization reports its
row count and column schema.

Raw files (RECSYS_RAW_DIR, or the dbt var raw_data_dir) are loaded once per run by their own step,
before any dbt step (``ml.ingest.raw_files``); with them the seeds are off, and the raw tables' assets
are that step's, under the same keys the seeds have (the dbt sources name them).

The event-level model (dbt tag ``events_by_day``: the validated events, incremental) is partitioned by
arrival day: materializing a partition, or a range of them in one run (a backfill from the UI), passes
its days to dbt as ``arrival_from``/``arrival_to``, so only those days' events are re-staged
(dbt_project/macros/incremental.sql). A run without a partition (the main job, ``recsys-pipeline``, the
schedule) stages what arrived since the last run. Everything downstream is unpartitioned and depends on
all the days; the daily aggregates among it are incremental too (they recompute the event days that
newly staged events touched).
"""

import json
import os

import dagster as dg
import yaml
from dagster_dbt import DbtCliResource, dbt_assets

from dagster_defs.project import Translator, dbt_project
from dagster_defs.resources import RecsysResource, dbt_build
from ml import settings
from ml.ingest import raw_files

EVENTS_BY_DAY = "tag:events_by_day"
ARRIVAL_DAYS = dg.DailyPartitionsDefinition(start_date=settings.events_start_date())
# what the event models read besides the events: the seeds and the staged users and items (their own
# multi-asset, so that the three dbt multi-assets depend on each other in one direction only)
ENTITIES = "resource_type:seed " + " ".join(f"stg_shop__{e}s_validated stg_shop__{e}s" for e in ("user", "item"))
# the rest up to the marts, selected by name rather than by excluding the others: a test that also reads
# an entity (relationships to stg_shop__items, the quarantine reconciliation over the raw tables) then
# stays one of this step's asset checks; an exclusion would drop it from the checks while dbt still runs
# it, and Dagster would log it as an observation "due to dbt indirect selection"
FEATURE_LAYER = "fqn:recsys.intermediate fqn:recsys.marts stg_shop__events"


@dbt_assets(manifest=dbt_project.manifest_path, dagster_dbt_translator=Translator(), select=ENTITIES, name="dbt_entities")
def entity_dbt_assets(context: dg.AssetExecutionContext, dbt: DbtCliResource, recsys: RecsysResource):
    """`dbt build` of the selected seeds and user/item staging models, with their tests as asset checks."""
    settings.warehouse_path().parent.mkdir(parents=True, exist_ok=True)
    yield from dbt_build(context, dbt, recsys)


@dbt_assets(
    manifest=dbt_project.manifest_path, dagster_dbt_translator=Translator(), select=FEATURE_LAYER, name="dbt_feature_layer"
)
def feature_dbt_assets(context: dg.AssetExecutionContext, dbt: DbtCliResource, recsys: RecsysResource):
    """`dbt build` of the selected models, with their tests reported as asset checks."""
    settings.warehouse_path().parent.mkdir(parents=True, exist_ok=True)
    yield from dbt_build(context, dbt, recsys)


@dbt_assets(
    manifest=dbt_project.manifest_path,
    dagster_dbt_translator=Translator(),
    select=EVENTS_BY_DAY,
    name="dbt_events_by_day",
    partitions_def=ARRIVAL_DAYS,
    backfill_policy=dg.BackfillPolicy.single_run(),
)
def events_by_day_dbt_assets(context: dg.AssetExecutionContext, dbt: DbtCliResource, recsys: RecsysResource):
    """`dbt build` of the staged events for the run's arrival days (the new ones without a partition)."""
    settings.warehouse_path().parent.mkdir(parents=True, exist_ok=True)
    days = None
    if context.has_partition_key or context.has_partition_key_range:
        window = context.partition_time_window
        days = {"arrival_from": window.start.strftime("%Y-%m-%d"), "arrival_to": window.end.strftime("%Y-%m-%d")}
        context.log.info(f"re-staging the events that arrived from {days['arrival_from']} to {days['arrival_to']} (exclusive)")
    yield from dbt_build(context, dbt, recsys, days)


RAW_RELATIONS = [f"raw_{t}{suffix}" for t in raw_files.contract() for suffix in ("", "_rejected")]


def seeds_in_manifest() -> bool:
    """Whether the dbt project (as last parsed) loads the raw tables from its seeds: then no raw files."""
    manifest = json.loads(dbt_project.manifest_path.read_text())
    return any(node["resource_type"] == "seed" for node in manifest["nodes"].values())


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            ["raw", name],
            group_name="raw",
            kinds={"python", "duckdb"},
            description=f"raw.{name}: "
            + (
                "the lines of the file a CSV reader could not split (quarantined by staging)"
                if "rejected" in name
                else "the raw file"
            )
            + ", loaded once per run from RECSYS_RAW_DIR (ml/ingest/raw_files.py)",
        )
        for name in RAW_RELATIONS
    ],
    name="raw_files",
)
def raw_files_asset(context: dg.AssetExecutionContext, recsys: RecsysResource):
    """Load the raw files into schema raw (views over Parquet on DuckDB, tables otherwise), after checking
    every file against the raw contract."""
    dbt_vars = yaml.safe_load(recsys.dbt_vars or "{}") or {}
    raw_dir = dbt_vars.get("raw_data_dir") or os.environ["RECSYS_RAW_DIR"]
    fmt = dbt_vars.get("raw_data_format") or os.environ.get("RECSYS_RAW_FORMAT", "parquet")
    settings.warehouse_path().parent.mkdir(parents=True, exist_ok=True)
    try:
        counts = raw_files.load(raw_dir, fmt)
    except raw_files.RawFileError as exc:
        raise dg.Failure(str(exc)) from None  # a user's file: its message, no traceback
    for name, n in counts.items():
        yield dg.MaterializeResult(asset_key=["raw", name], metadata={"dagster/row_count": n})


raw_assets = [] if seeds_in_manifest() else [raw_files_asset]
