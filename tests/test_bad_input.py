"""The bad raw input matrix (README, 'Bad input'): every malformed row is staged with exactly its value
or quarantined with its reason, the column at fault and the value as given, and the counts reconcile;
a file the run cannot use stops it before any work with a message naming the file, the column and the
fix. Each variant is one row below; the whole matrix is one dbt build on the tiny synthetic data."""

import csv
import io
from pathlib import Path

import pandas as pd
import pytest

from ml.ingest import synthetic
from ml.warehouse import connection as warehouse
from tests.conftest import run_dbt

TINY = synthetic.SyntheticConfig(n_users=200, n_items=150, n_days=30, seed=3)
AT = "2026-01-20 10:00:00"  # inside the tiny data's window
QUOTES = "Côte d’Ivoire \"CI\", 'x'\nsecond line"

# (variant, raw row, expected): expected is a quarantine reason, or "staged" (checked value by value)
EVENTS = [
    ("non-numeric user id", {"event_id": 9001, "user_id": "abc"}, "missing_or_invalid_user_id"),
    ("empty user id", {"event_id": 9002, "user_id": ""}, "missing_or_invalid_user_id"),
    ("decimal event id", {"event_id": "1.5"}, "missing_or_invalid_event_id"),
    ("hex item id", {"event_id": 9004, "item_id": "0x1F"}, "missing_or_invalid_item_id"),
    ("exponent user id", {"event_id": 9005, "user_id": "1e3"}, "missing_or_invalid_user_id"),
    ("underscored user id", {"event_id": 9006, "user_id": "1_000"}, "missing_or_invalid_user_id"),
    ("user id beyond int64", {"event_id": 9007, "user_id": "9223372036854775808"}, "missing_or_invalid_user_id"),
    ("unknown event type", {"event_id": 9008, "event_type": "like"}, "unknown_event_type"),
    ("event type in other case and spaces", {"event_id": 9009, "event_type": " Purchase "}, "staged"),
    ("timestamp with +02:00 offset", {"event_id": 9010, "event_at": "2026-01-20T10:00:00+02:00"}, "staged"),
    ("timestamp in UTC with Z", {"event_id": 9011, "event_at": "2026-01-20T10:00:00Z"}, "staged"),
    ("day-first timestamp", {"event_id": 9012, "event_at": "20.01.2026 10:00"}, "invalid_event_at"),
    ("far-future timestamp", {"event_id": 9013, "event_at": "2999-01-01 00:00:00"}, "event_at_out_of_range"),
    ("1900 timestamp", {"event_id": 9014, "event_at": "1900-01-01 00:00:00"}, "event_at_out_of_range"),
    ("infinite timestamp", {"event_id": 9015, "event_at": "infinity"}, "event_at_out_of_range"),
    ("exact duplicate", {"event_id": 1}, "exact_duplicate"),  # filled with event 1's content below
    ("event id reused with other content", {"event_id": 2, "item_id": 3}, "duplicate_event_id"),
    ("unknown user", {"event_id": 9018, "user_id": 987654}, "unknown_user"),
    ("unknown item", {"event_id": 9019, "item_id": 987654}, "unknown_item"),
]
USERS = [
    ("non-numeric user id", {"user_id": "u-7"}, "missing_or_invalid_user_id"),
    ("user id appended again with other content", {"user_id": 1, "country": "XX"}, "duplicate_user_id"),
    ("1900 signup", {"user_id": 5001, "signup_at": "1900-01-01"}, "signup_at_out_of_range"),
    ("unparseable signup", {"user_id": 5002, "signup_at": "soon"}, "invalid_signup_at"),
    ("unicode, quotes and a newline in text", {"user_id": 5003, "country": QUOTES}, "staged"),
    ("no signup date", {"user_id": 5004, "signup_at": ""}, "staged"),
]
ITEMS = [
    ("negative price", {"item_id": 6001, "price": "-1"}, "invalid_price"),
    ("non-numeric price", {"item_id": 6002, "price": "12,50"}, "invalid_price"),
    ("NaN price", {"item_id": 6003, "price": "NaN"}, "invalid_price"),
    ("infinite price", {"item_id": 6004, "price": "inf"}, "invalid_price"),
    ("missing category", {"item_id": 6005, "category": ""}, "missing_category"),
    ("release in 9999", {"item_id": 6006, "released_at": "9999-01-01"}, "released_at_out_of_range"),
    ("release in 1900", {"item_id": 6007, "released_at": "1900-01-01"}, "released_at_out_of_range"),
    ("infinite release", {"item_id": 6008, "released_at": "infinity"}, "released_at_out_of_range"),
    ("item id appended again with other content", {"item_id": 1, "category": "other"}, "duplicate_item_id"),
    ("unicode, quotes and a newline in text", {"item_id": 6010, "brand": QUOTES}, "staged"),
    ("no price", {"item_id": 6011, "price": ""}, "staged"),
]
# lines the CSV reader cannot split (appended as bytes): quarantined as malformed_line
MALFORMED = [
    ("ragged row: too many columns", b"9101,1,1,view,2026-01-20 10:00:00,extra\r\n"),
    ("ragged row: too few columns", b"9102,1,1\r\n"),
    ("bytes that are not UTF-8", b"9103,1,1,vi\xffew,2026-01-20 10:00:00\r\n"),
]


def csv_text(frame: pd.DataFrame, rows: list[dict], columns: list[str], line_end: str) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator=line_end, extrasaction="ignore")
    writer.writeheader()
    for record in [*frame.astype(object).where(frame.notna(), "").to_dict("records"), *rows]:
        writer.writerow({k: ("" if v is None else v) for k, v in record.items()})
    return out.getvalue()


def full_row(base: dict, variant: dict) -> dict:
    return {**base, **variant}


@pytest.fixture(scope="module")
def matrix_build(tmp_path_factory):
    data = synthetic.generate(TINY)
    fmt = "%Y-%m-%d %H:%M:%S"
    users = data.users.assign(signup_at=data.users.signup_at.dt.strftime(fmt))
    items = data.items.assign(released_at=data.items.released_at.dt.strftime(fmt))
    events = data.events.assign(event_type=data.events.event_type.astype(str), event_at=data.events.event_at.dt.strftime(fmt))
    event_base = {"user_id": 1, "item_id": 1, "event_type": "view", "event_at": AT}
    first = events.iloc[0].to_dict()
    event_rows = [full_row(first if v == "exact duplicate" else event_base, row) for v, row, _ in EVENTS]
    user_rows = [full_row({"signup_at": "2025-01-01 00:00:00", "country": "FR", "segment": "premium"}, r) for _, r, _ in USERS]
    item_rows = [
        full_row({"category": "books", "brand": "b", "price": "9.5", "released_at": "2025-01-01"}, r) for _, r, _ in ITEMS
    ]

    # the raw directory's name has a quote and a space (paths are escaped, never pasted into SQL)
    raw = tmp_path_factory.mktemp("bad") / "it's raw"
    raw.mkdir()
    # events: UTF-8 BOM and CRLF line ends, then the malformed lines
    text = csv_text(events, event_rows, list(events.columns), "\r\n")
    (raw / "events.csv").write_bytes(b"\xef\xbb\xbf" + text.encode() + b"".join(line for _, line in MALFORMED))
    # users: the optional column age_band left out of the file entirely
    (raw / "users.csv").write_text(csv_text(users, user_rows, ["user_id", "signup_at", "country", "segment"], "\n"))
    # items: columns reordered and an extra column
    item_columns = ["released_at", "price", "title", "item_id", "brand", "category"]
    (raw / "items.csv").write_text(csv_text(items.assign(title="t"), item_rows, item_columns, "\n"))

    wh = raw.parent / "wh.duckdb"
    run_dbt(["build", "--exclude", "resource_type:unit_test"], wh, raw_dir=raw, raw_format="csv")
    rows_in = {
        "events": len(events) + len(EVENTS) + len(MALFORMED),
        "users": len(users) + len(USERS),
        "items": len(items) + len(ITEMS),
    }
    return wh, rows_in, data


def quarantined(wh: Path) -> pd.DataFrame:
    return warehouse.query_df("select * from marts.quarantined_rows", wh)


@pytest.mark.parametrize(
    "table, variant, row, expected",
    [("events", *v) for v in EVENTS] + [("users", *v) for v in USERS] + [("items", *v) for v in ITEMS],
    ids=lambda x: x if isinstance(x, str) else None,
)
def test_every_bad_row_is_quarantined_with_its_value_or_staged_exactly(matrix_build, table, variant, row, expected):
    wh, _, _ = matrix_build
    qr = quarantined(wh)
    qr = qr[qr.source_table == table]
    if expected == "staged":
        id_col = {"events": "event_id", "users": "user_id", "items": "item_id"}[table]
        relation = {"events": "stg_shop__events", "users": "stg_shop__users", "items": "stg_shop__items"}[table]
        staged = warehouse.query_df(f"select * from staging.{relation} where {id_col} = {row[id_col]}", wh)
        assert len(staged) == 1, f"{variant}: not staged"
        got = staged.iloc[0]
        if "event_type" in row:
            assert got["event_type"] == "purchase"
        if "event_at" in row:  # converted to UTC
            assert got["event_at"] == pd.Timestamp("2026-01-20 08:00:00" if "+02:00" in row["event_at"] else AT)
        for text_col in ("country", "brand"):
            if text_col in row:
                assert got[text_col] == row[text_col]  # exactly as given
        for missing in ("signup_at", "price"):
            if row.get(missing) == "":
                assert pd.isna(got[missing])
        return
    hits = qr[qr.quarantine_reason == expected]
    assert len(hits), f"{variant}: no row quarantined as {expected}"
    column = qr.column_name[qr.quarantine_reason == expected].iloc[0]
    given = row.get(column, row.get({"exact_duplicate": "event_id", "duplicate_event_id": "event_id"}.get(expected, "")))
    if expected in ("unknown_user", "unknown_item"):
        given = row["user_id" if expected == "unknown_user" else "item_id"]
    values = set(hits.raw_value.fillna(""))
    assert ("" if given is None else str(given)) in values, f"{variant}: {given!r} not among {values}"


def test_malformed_lines_are_quarantined_with_the_line(matrix_build):
    wh, _, _ = matrix_build
    qr = quarantined(wh)
    lines = qr[qr.quarantine_reason == "malformed_line"].raw_value.tolist()
    assert len(lines) == len(MALFORMED)
    assert any("TOO MANY COLUMNS" in v and "9101" in v for v in lines)
    assert any("MISSING COLUMNS" in v and "9102" in v for v in lines)
    assert any("INVALID ENCODING" in v for v in lines)


def test_counts_reconcile_and_first_rows_are_kept(matrix_build):
    wh, rows_in, data = matrix_build
    qr = quarantined(wh)
    staged = {
        "events": "select count(*) n from intermediate.int_events_referenced where quarantine_reason is null",
        "users": "select count(*) n from staging.stg_shop__users",
        "items": "select count(*) n from staging.stg_shop__items",
    }
    for table, sql in staged.items():
        n_staged = warehouse.query_df(sql, wh)["n"][0]
        assert n_staged + (qr.source_table == table).sum() == rows_in[table], table
    # the row first in the file wins: the original user 1 and item 1, event 2 as first written
    assert (
        warehouse.query_df("select country from staging.stg_shop__users where user_id = 1", wh)["country"][0]
        == data.users.country[0]
    )
    assert (
        warehouse.query_df("select category from staging.stg_shop__items where item_id = 1", wh)["category"][0]
        == data.items.category[0]
    )
    assert (
        warehouse.query_df("select item_id from staging.stg_shop__events where event_id = 2", wh)["item_id"][0]
        == data.events.item_id[1]
    )


def write_tiny(raw: Path) -> None:
    data = synthetic.generate(TINY)
    synthetic.write_csv(data, raw, prefix="")


STOPS = [
    ("missing events file", lambda raw: (raw / "events.csv").unlink(), ["events.csv", "raw file missing", "recsys-import"]),
    (
        "0-byte items file",
        lambda raw: (raw / "items.csv").write_bytes(b""),
        ["items.csv", "empty (0 bytes)", "item_id, category, released_at"],
    ),
    (
        "header-only events file",
        lambda raw: (raw / "events.csv").write_text("event_id,user_id,item_id,event_type,event_at\n"),
        ["events.csv", "no rows", "export the events"],
    ),
    (
        "missing required column",
        lambda raw: pd.read_csv(raw / "events.csv").drop(columns="event_at").to_csv(raw / "events.csv", index=False),
        ["events.csv", "no column 'event_at'", "rename the column"],
    ),
]


@pytest.mark.parametrize("variant, damage, words", STOPS, ids=[s[0] for s in STOPS])
def test_unusable_files_stop_before_work_with_file_column_and_fix(tmp_path, variant, damage, words):
    raw = tmp_path / "raw"
    write_tiny(raw)
    damage(raw)
    wh = tmp_path / "wh.duckdb"
    proc = run_dbt(["build", "--exclude", "resource_type:unit_test"], wh, raw_dir=raw, raw_format="csv", check=False)
    assert proc.returncode != 0
    for word in words:
        assert word in proc.stdout, f"{variant}: {word!r} not in {proc.stdout[-1500:]}"
    built = warehouse.query_df("select count(*) n from information_schema.tables where table_schema <> 'raw'", wh)["n"][0]
    assert built == 0  # stopped before any model


def test_unknown_format_names_the_setting(tmp_path):
    raw = tmp_path / "raw"
    write_tiny(raw)
    proc = run_dbt(["build"], tmp_path / "wh.duckdb", raw_dir=raw, raw_format="xlsx", check=False)
    assert proc.returncode != 0 and "RECSYS_RAW_FORMAT" in proc.stdout and "'xlsx'" in proc.stdout
    # the setting is case-insensitive: CSV works
    run_dbt(
        ["build", "--exclude", "resource_type:unit_test", "--select", "+stg_shop__users"],
        tmp_path / "wh2.duckdb",
        raw_dir=raw,
        raw_format="CSV",
    )
