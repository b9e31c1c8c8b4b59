"""Raw files instead of seeds (RECSYS_RAW_DIR), and malformed rows that must be quarantined."""

import pandas as pd

from ml.ingest import synthetic
from ml.warehouse import connection as warehouse
from ml.warehouse import summary
from tests.conftest import run_dbt

# events that passed staging and reference a known user and item
USABLE_EVENTS = "(select * from intermediate.int_events_referenced where quarantine_reason is null)"

TINY = synthetic.SyntheticConfig(n_users=200, n_items=150, n_days=30, seed=3)


def test_parquet_directory_replaces_the_seeds(tmp_path):
    data = synthetic.generate(TINY)
    synthetic.write_parquet(data, tmp_path / "raw")
    wh = tmp_path / "wh.duckdb"
    run_dbt(["build", "--exclude", "resource_type:unit_test"], wh, raw_dir=tmp_path / "raw")
    staged = warehouse.query_df(f"select count(*) n from {USABLE_EVENTS}", wh)["n"][0]
    assert staged == len(data.events)
    n_users = warehouse.query_df("select count(*) n from marts.user_features", wh)["n"][0]
    assert n_users == TINY.n_users
    kinds = warehouse.query_df(
        "select table_name, table_type from information_schema.tables where table_schema = 'raw' order by 1", wh
    )
    # the seeds were switched off: the raw relations are views over the files, beside the (empty)
    # tables of lines a reader could not split
    assert dict(zip(kinds.table_name, kinds.table_type, strict=True)) == {
        **{f"raw_{t}": "VIEW" for t in ("events", "items", "users")},
        **{f"raw_{t}_rejected": "BASE TABLE" for t in ("events", "items", "users")},
    }


def test_all_events_quarantined_stops_with_the_cause_and_the_fix(tmp_path):
    data = synthetic.generate(TINY)
    synthetic.write_parquet(data, tmp_path / "raw")
    old = data.events.assign(event_at=pd.Timestamp("1985-06-01"))  # older than event_time_min
    old.to_parquet(tmp_path / "raw" / "events.parquet", index=False)
    wh = tmp_path / "wh.duckdb"
    proc = run_dbt(["build", "--exclude", "resource_type:unit_test"], wh, raw_dir=tmp_path / "raw", check=False)
    assert proc.returncode != 0 and "assert_some_events_are_usable" in proc.stdout
    text = summary.warehouse_summary(wh)
    assert f"ERROR: all {len(old):,} events quarantined: event_at_out_of_range {len(old):,}" in text
    assert "set the dbt var event_time_min" in text
