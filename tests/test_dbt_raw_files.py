"""Raw files instead of seeds (RECSYS_RAW_DIR), and malformed rows that must be quarantined."""

import numpy as np
import pandas as pd

from ml import summary, synthetic, warehouse
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
    seeds = warehouse.query_df(
        "select count(*) n from information_schema.tables where table_schema = 'raw' and table_type = 'BASE TABLE'", wh
    )["n"][0]
    assert seeds == 0  # the seeds were switched off; raw relations are views over the files


def test_malformed_rows_are_quarantined_with_reasons_and_counts_reconcile(tmp_path):
    data = synthetic.generate(TINY)
    ev = data.events.astype({"event_type": str, "event_at": str, "user_id": object, "item_id": object})
    good = ev.iloc[:3]
    bad = pd.DataFrame(
        [
            {"event_id": 10_000_001, "user_id": None, "item_id": 1, "event_type": "view", "event_at": "2026-01-05 10:00:00"},
            {"event_id": 10_000_002, "user_id": "abc", "item_id": 1, "event_type": "view", "event_at": "2026-01-05 10:00:00"},
            {"event_id": 10_000_003, "user_id": 1, "item_id": 1, "event_type": "like", "event_at": "2026-01-05 10:00:00"},
            {"event_id": 10_000_004, "user_id": 1, "item_id": 1, "event_type": "view", "event_at": "yesterday"},
            {"event_id": 10_000_005, "user_id": 1, "item_id": 1, "event_type": "view", "event_at": "1989-12-31 00:00:00"},
            {"event_id": 10_000_006, "user_id": 1, "item_id": 1, "event_type": "view", "event_at": "2999-01-01 00:00:00"},
            {"event_id": 10_000_007, "user_id": 987654, "item_id": 1, "event_type": "view", "event_at": "2026-01-05 10:00:00"},
            {"event_id": 10_000_008, "user_id": 1, "item_id": 987654, "event_type": "view", "event_at": "2026-01-05 10:00:00"},
            {"event_id": 10_000_009, "user_id": 1, "item_id": 2, "event_type": "click", "event_at": "2026-01-05 10:00:00"},
            {"event_id": None, "user_id": 1, "item_id": 2, "event_type": "click", "event_at": "2026-01-05 10:00:00"},
        ]
    )
    reused_id = good.iloc[[0]].assign(item_id=3)  # same event_id, different content
    events = pd.concat([ev, good, bad, reused_id], ignore_index=True)  # `good` again = exact duplicates
    events["event_id"] = events["event_id"].astype("Int64")
    raw = tmp_path / "raw"
    raw.mkdir()
    events.to_csv(raw / "events.csv", index=False)
    users = pd.concat(
        [
            data.users,
            data.users.iloc[[0]].assign(country="XX"),
            pd.DataFrame([{"user_id": None, "signup_at": "2026-01-01", "country": "US"}]),
        ]
    )
    users.to_csv(raw / "users.csv", index=False, date_format="%Y-%m-%d %H:%M:%S")
    items = pd.concat(
        [data.items, pd.DataFrame([{"item_id": 5000, "category": "books", "price": -1, "released_at": "2026-01-01"}])]
    )
    items.to_csv(raw / "items.csv", index=False, date_format="%Y-%m-%d %H:%M:%S")

    wh = tmp_path / "wh.duckdb"
    run_dbt(["build", "--exclude", "resource_type:unit_test"], wh, raw_dir=raw, raw_format="csv")
    qr = warehouse.query_df("select source_table, record_id, quarantine_reason from marts.quarantined_rows", wh)
    reasons = qr[qr.source_table == "events"].groupby("quarantine_reason").size().to_dict()
    assert reasons == {
        "missing_or_invalid_user_id": 2,
        "unknown_event_type": 1,
        "invalid_event_at": 1,
        "event_at_out_of_range": 2,
        "unknown_user": 1,
        "unknown_item": 1,
        "exact_duplicate": 3,
        "duplicate_event_id": 1,
        "missing_or_invalid_event_id": 1,
    }
    by_id = qr[qr.source_table == "events"].set_index("record_id")["quarantine_reason"]
    assert by_id["10000003"] == "unknown_event_type" and by_id["10000007"] == "unknown_user"
    assert sorted(qr[qr.source_table == "users"]["quarantine_reason"]) == ["duplicate_user_id", "missing_or_invalid_user_id"]
    assert qr[qr.source_table == "items"]["quarantine_reason"].tolist() == ["invalid_price"]
    staged = warehouse.query_df(f"select count(*) n from {USABLE_EVENTS}", wh)["n"][0]
    assert staged + (qr.source_table == "events").sum() == len(events)
    assert staged == len(ev) + 1  # every original row plus the one valid new click (10_000_009)
    assert np.isin([10_000_009], warehouse.query_df(f"select event_id from {USABLE_EVENTS}", wh)["event_id"]).all()


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
