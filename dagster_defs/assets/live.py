"""The way back from serving: the service's live log (events received, lists served) as a source asset
``live/live_log`` that the sensor ``live_log`` observes, its load into the raw schema (``raw/raw_live_events``,
``raw/raw_exposures``: ``ml.ingest.live_raw``), and the experiment marts over it (dbt folder
``experiments``: attributed exposures, per-arm online metrics, online next to offline), in their own group
(built by the dbt step of the leaderboard: ``dagster_defs.assets.leaderboard``).

The sensor looks at the log every minute; when it holds rows it did not hold at the last look, it
records an observation of ``live/live_log`` (its row counts) and requests a run of the load and the
experiment marts. Off by default, like the other sensors (Automation tab of the UI).
"""

import dagster as dg

from dagster_defs.resources import RecsysResource
from ml import settings
from ml.ingest import live_raw
from ml.live.log import LiveLog

LIVE_LOG = dg.AssetKey(["live", "live_log"])
RAW_LIVE = [dg.AssetKey(["raw", name]) for name in live_raw.TABLES.values()]

live_log = dg.AssetSpec(
    LIVE_LOG,
    group_name="raw",
    kinds={"sqlite"},
    description="The service's live log (RECSYS_LIVE_LOG, ml/live/log.py): POST /events and every served list; "
    "observed by the sensor live_log",
)


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            key,
            group_name="raw",
            kinds={"python", "duckdb"},
            deps=[LIVE_LOG],
            description=f"raw.{key.path[-1]}: the live log's {table}, every value as text (ml/ingest/live_raw.py)",
        )
        for key, table in zip(RAW_LIVE, live_raw.TABLES, strict=True)
    ],
    name="raw_live_log",
)
def raw_live_log(context: dg.AssetExecutionContext, recsys: RecsysResource):
    """Load the whole live log (append-only) into schema raw; empty tables when there is no log yet."""
    settings.warehouse_path().parent.mkdir(parents=True, exist_ok=True)
    counts = live_raw.load(settings.live_log_path())
    if not any(counts.values()):
        context.log.info(f"no live log at {settings.live_log_path()} yet: the experiment marts will be empty")
    for key in RAW_LIVE:
        yield dg.MaterializeResult(asset_key=key, metadata={"dagster/row_count": counts[key.path[-1]]})


@dg.sensor(
    name="live_log",
    minimum_interval_seconds=60,
    asset_selection=dg.AssetSelection.assets(*RAW_LIVE) | dg.AssetSelection.groups("experiments"),
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Observes the service's live log; new rows load it and rebuild the experiment marts",
)
def live_log_sensor(context: dg.SensorEvaluationContext):
    path = settings.live_log_path()
    if not path.exists():
        return dg.SkipReason(f"no live log at {path} yet (the service writes it on its first request)")
    with LiveLog(path) as log:  # the daemon runs this every minute: nothing is left open
        counts = log.counts()
    cursor = f"{counts['events']}:{counts['exposures']}"
    if cursor == context.cursor:
        return dg.SkipReason(f"nothing new in the live log ({counts['events']} events, {counts['exposures']} exposures)")
    observation = dg.AssetObservation(LIVE_LOG, metadata={"events": counts["events"], "exposures": counts["exposures"]})
    return dg.SensorResult(run_requests=[dg.RunRequest(run_key=cursor)], asset_events=[observation], cursor=cursor)


live_assets = [raw_live_log]
