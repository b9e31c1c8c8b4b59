"""The live log reaches the warehouse through the raw schema: every value exactly as logged, staged and
typed (an id beyond BIGINT quarantined with its raw value), exposures attributed to the clicks that
followed them, and per-arm online metrics; before any load the marts build empty."""

import shutil
from datetime import UTC, datetime

import duckdb

from ml.ingest import live_raw
from ml.live.log import Exposure, LiveEvent, LiveLog, now
from tests.conftest import run_dbt

LIVE_MODELS = ["stg_live__events+", "stg_live__exposures+"]


def test_without_a_live_log_the_experiment_marts_are_empty(sample_warehouse):
    with duckdb.connect(str(sample_warehouse), read_only=True) as con:
        for table in ("experiment_exposures", "experiment_arms", "online_vs_offline"):
            assert con.execute(f"select count(*) from experiments.{table}").fetchall() == [(0,)]


def test_the_log_is_loaded_exactly_staged_and_measured_per_arm(sample_warehouse, tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(sample_warehouse, warehouse)
    log = LiveLog(tmp_path / "live.sqlite")
    shown = [(1, "control", "popularity"), (2, "treatment", "item_item"), (3, "treatment", "item_item")]
    log.log_exposures(
        Exposure(f"r{user}", user, item, pos, 0.5, model, "v1", "e", arm)
        for user, arm, model in shown
        for pos, item in enumerate((10, 11), start=1)
    )
    log.log_exposures([Exposure("r9", 2**64, 10, 1, 0.25, "als", "v1")])  # the API answers any JSON integer
    log.append_events([LiveEvent(2, 10, "click", now()), LiveEvent(3, 11, "purchase", now()), LiveEvent(1, 10, "view", now())])

    assert live_raw.load(log.path, warehouse) == {"raw_live_events": 3, "raw_exposures": 7}
    run_dbt(["build", "--select", *LIVE_MODELS], warehouse)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("select score from raw.raw_exposures where request_id = 'r9'").fetchall() == [("0.25",)]
        quarantined = con.sql("select quarantine_reason, quarantine_value from staging.stg_live__exposures where user_id is null")
        assert quarantined.fetchall() == [("missing_or_invalid_user_id", "18446744073709551616")]
        arms = con.sql(
            "select arm, users, exposures, clicks, purchases, ctr, conversion, ctr_vs_control from experiments.experiment_arms "
            "order by arm"
        ).fetchall()
        online = con.sql("select arm, model, ctr from experiments.online_vs_offline order by arm").fetchall()
    # control: user 1 saw 10 and 11 and only viewed 10 (a view is not a click); treatment: users 2 and 3
    # saw 10 and 11, 2 clicked 10, 3 bought 11 (a purchase is a click too): 2 of 4 exposures
    assert arms == [("control", 1, 2, 0, 0, 0.0, 0.0, None), ("treatment", 2, 4, 2, 1, 0.5, 0.5, 0.5)]
    assert online == [("control", "popularity", 0.0), ("treatment", "item_item", 0.5)]


def test_the_served_traffic_joins_the_training_events(sample_warehouse, tmp_path):
    """Live events and exposures (as impressions) are staged with the raw events, with ids of their own,
    checked like them (an unknown user quarantined), and the quarantine still reconciles."""
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(sample_warehouse, warehouse)
    log = LiveLog(tmp_path / "live.sqlite")
    clicked_at = datetime(2026, 3, 4, 10, tzinfo=UTC)
    log.append_events([LiveEvent(1, 1, "click", clicked_at), LiveEvent(999_999, 1, "click", clicked_at)])
    log.log_exposures([Exposure("r1", 1, 2, 1, 0.5, "als", "v1")])
    live_raw.load(log.path, warehouse)
    models = ["stg_shop__events_validated", "stg_shop__events", "int_events_referenced", "quarantined_rows", "raw_row_counts"]
    run_dbt(["build", "--select", *models], warehouse)  # with the reconciliation test over raw_row_counts
    with duckdb.connect(str(warehouse), read_only=True) as con:
        live = con.execute(
            "select event_id, user_id, item_id, event_type, event_at, quarantine_reason from intermediate.int_events_referenced "
            "where event_id >= 8000000000000000000 order by event_id"
        ).fetchall()
        counts = con.execute("select rows_in, raw_rows from marts.raw_row_counts where source_table = 'events'").fetchall()
        seeded = con.execute("select count(*) from raw.raw_events").fetchall()[0][0]
    assert [row[:4] for row in live] == [
        (8000000000000000001, 1, 1, "click"),
        (8000000000000000002, 999_999, 1, "click"),
        (9000000000000000001, 1, 2, "impression"),
    ]
    assert live[0][4] == clicked_at.replace(tzinfo=None) and [row[5] for row in live] == [None, "unknown_user", None]
    assert counts == [(seeded + 3, seeded + 3)]
