"""Incremental events (dbt_project/macros/incremental.sql): raw events that arrive as daily files
(events/day=YYYY-MM-DD/*.parquet) are staged and aggregated by arrival day. Appending days, or
re-running a range of days as a backfill does, gives the tables of a full build, and a run re-processes
only its window."""

import shutil
from pathlib import Path

import duckdb
import pandas as pd

from tests.conftest import run_dbt
from tests.engines import sample_as_parquet

SELECT = ["--select", "+int_user_days_aggregated", "+int_item_days_aggregated", "+quarantined_rows", "+interactions"]
# table -> the columns that say when a row was processed (they differ between runs by design)
TABLES = {
    "staging.stg_shop__events_validated": ["staged_at"],
    "intermediate.int_user_days_aggregated": ["staged_through"],
    "intermediate.int_item_days_aggregated": ["staged_through"],
    "marts.quarantined_rows": [],
    "marts.interactions": [],
}


def arrivals(sample: Path) -> dict[str, pd.DataFrame]:
    """The sample's events by arrival day: the day they happened, except some late ones (two days
    later), an unparseable timestamp (the first day) and two reused event ids (a later day)."""
    events = pd.read_parquet(sample / "events.parquet")
    when = pd.to_datetime(events["event_at"], errors="coerce", utc=True, format="mixed")
    day = when.dt.tz_localize(None).dt.normalize()
    first = day.min()
    day = day.fillna(first)
    late = events.index[(day > first + pd.Timedelta(days=5)) & (events.index % 97 == 0)]
    day[late] += pd.Timedelta(days=2)
    copies = events.iloc[[10, 11]].copy()
    copies.iloc[1, copies.columns.get_loc("user_id")] = "999999"  # the same id, other content
    copies_day = pd.Series([day.max()] * 2, index=[-1, -2])
    events = pd.concat([events, copies.set_axis(copies_day.index)])
    day = pd.concat([day, copies_day])
    return {d.strftime("%Y-%m-%d"): events[day == d] for d in sorted(day.unique())}


def land(raw: Path, days: dict[str, pd.DataFrame]) -> None:
    for name, frame in days.items():
        folder = raw / "events" / f"day={name}"
        folder.mkdir(parents=True, exist_ok=True)
        frame.to_parquet(folder / "part-0.parquet", index=False)


def raw_dir(base: Path, sample: Path) -> Path:
    raw = base / "raw"
    raw.mkdir(parents=True)
    for table in ("users", "items"):
        shutil.copy(sample / f"{table}.parquet", raw)
    return raw


def tables(warehouse: Path) -> dict[str, pd.DataFrame]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        out = {}
        for table, run_columns in TABLES.items():
            columns = f"* exclude ({', '.join(run_columns)})" if run_columns else "*"
            frame = con.sql(f"select {columns} from {table}").df()
            out[table] = frame.sort_values(list(frame.columns)).reset_index(drop=True)
        return out


def assert_same(got: dict[str, pd.DataFrame], want: dict[str, pd.DataFrame]) -> None:
    for table in TABLES:
        pd.testing.assert_frame_equal(got[table], want[table], check_exact=False, rtol=1e-9, obj=table)


def test_appended_days_and_a_backfilled_range_give_the_full_build(tmp_path):
    sample = sample_as_parquet(tmp_path / "sample")
    days = arrivals(sample)
    names = list(days)

    full_raw = raw_dir(tmp_path / "full", sample)
    land(full_raw, days)
    run_dbt(["run", *SELECT], tmp_path / "full" / "warehouse.duckdb", full_raw)
    full = tables(tmp_path / "full" / "warehouse.duckdb")
    reasons = full["staging.stg_shop__events_validated"]["quarantine_reason"].value_counts()
    assert reasons["exact_duplicate"] >= 1 and reasons["duplicate_event_id"] >= 1 and reasons["invalid_event_at"] >= 1

    warehouse = tmp_path / "daily" / "warehouse.duckdb"
    raw = raw_dir(tmp_path / "daily", sample)
    land(raw, {d: days[d] for d in names[:-3]})
    run_dbt(["run", *SELECT], warehouse, raw)
    land(raw, {d: days[d] for d in names[-3:]})  # three more days land (late events among them)
    run_dbt(["run", *SELECT], warehouse, raw)
    assert_same(tables(warehouse), full)

    # the second run re-staged only the arrival days from the last one it had seen, minus lookback_days
    with duckdb.connect(str(warehouse), read_only=True) as con:
        restaged, window = con.execute(
            "select count(*) filter (where staged_at = (select max(staged_at) from staging.stg_shop__events_validated)), "
            f"count(*) filter (where arrival_day >= date '{names[-4]}' - interval 2 day or arrival_day is null) "
            "from staging.stg_shop__events_validated"
        ).fetchone()
    assert restaged == window and 0 < restaged < len(full["staging.stg_shop__events_validated"]) / 2

    # a backfill of a range of days in the middle (what a Dagster partition range passes)
    middle = len(names) // 2
    backfill = f"{{arrival_from: '{names[middle]}', arrival_to: '{names[middle + 3]}'}}"
    run_dbt(["run", *SELECT, "--vars", backfill], warehouse, raw)
    assert_same(tables(warehouse), full)


def test_a_range_of_arrival_days_materialized_in_dagster_restages_those_days(tmp_path, monkeypatch):
    """What a backfill of a date range from the UI runs (one run, the backfill policy): the partitioned
    event models re-stage exactly the events that arrived on those days."""
    import dagster as dg

    from dagster_defs.assets.features import ARRIVAL_DAYS, events_by_day_dbt_assets
    from dagster_defs.definitions import defs

    sample = sample_as_parquet(tmp_path / "sample")
    days = arrivals(sample)
    names = list(days)
    warehouse = tmp_path / "dagster" / "warehouse.duckdb"
    raw = raw_dir(tmp_path / "dagster", sample)
    land(raw, days)
    run_dbt(["run", *SELECT], warehouse, raw)
    monkeypatch.setenv("RECSYS_DUCKDB_PATH", str(warehouse))
    monkeypatch.setenv("RECSYS_RAW_DIR", str(raw))
    first, last = names[3], names[5]
    assert ARRIVAL_DAYS.has_partition_key(first) and ARRIVAL_DAYS.has_partition_key(last)
    with dg.instance_for_test() as instance:
        result = defs.resolve_implicit_global_asset_job_def().execute_in_process(
            instance=instance,
            asset_selection=list(events_by_day_dbt_assets.keys),
            tags={"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last},
        )
        assert result.success
        staged = instance.get_latest_materialization_event(dg.AssetKey(["staging", "stg_shop__events_validated"]))
        assert staged is not None
    with duckdb.connect(str(warehouse), read_only=True) as con:
        restaged = con.execute(
            "select distinct arrival_day from staging.stg_shop__events_validated "
            "where staged_at = (select max(staged_at) from staging.stg_shop__events_validated)"
        ).fetchall()
    assert sorted(str(d) for (d,) in restaged) == names[3:6]
