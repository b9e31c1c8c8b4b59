"""Raw files -> the warehouse's raw schema, once per run (the Dagster step ``raw/raw_*``, or
``recsys-load-raw <dir>`` before a dbt build by hand): ``raw.raw_<table>`` with every value as given
and each row's position in its file (``_row_number``), and ``raw.raw_<table>_rejected``, the lines a
CSV reader could not split into the columns (staging quarantines them as ``malformed_line``).

The contract (which columns each file must have, which it may lack) is the dbt source ``shop``
(``dbt_project/models/staging/_shop__sources.yml``, column ``meta.required``). Every file is checked
before any is loaded: a missing file or column stops with the file, what it has and the fix.

- DuckDB reads the files itself: Parquet as views (nothing copied), CSV into tables (its reader keeps
  the lines it cannot split). Events may be arrival-day folders ``events/day=YYYY-MM-DD/*.parquet``.
- PostgreSQL: DuckDB reads them as above, in memory, and the relations stream into PostgreSQL by
  binary COPY (ADBC bulk ingest).
- Spark reads Parquet into tables (a row's position from ``_metadata.row_index``); CSV is refused.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import duckdb
import yaml

from ml import settings
from ml.warehouse.connection import connect
from ml.warehouse.engines import Connection

SOURCES = settings.DBT_PROJECT_DIR / "models" / "staging" / "_shop__sources.yml"
FORMATS = ("parquet", "csv")
NO_ARRIVAL = "cast(null as varchar) as _source_file, cast(null as date) as _arrival_day"


class RawFileError(ValueError):
    """A raw file that cannot be read as the contract says; the message names the file and the fix."""


@cache
def contract() -> dict[str, dict[str, list[str]]]:
    """Per raw table (users, items, events): its required and its optional columns."""
    (shop,) = [s for s in yaml.safe_load(SOURCES.read_text())["sources"] if s["name"] == "shop"]
    out = {}
    for table in shop["tables"]:
        if "columns" in table and not table["name"].endswith("_rejected"):
            required = [c["name"] for c in table["columns"] if c.get("meta", {}).get("required")]
            out[table["name"]] = {
                "required": required,
                "optional": [c["name"] for c in table["columns"] if c["name"] not in required],
            }
    return out


def sql_string(text: str | Path) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def missing_columns(path: str, table: str, found: list[str]) -> str:
    """The select list adding the optional columns a file lacks (as null text); stops on a required one."""
    columns = contract()[table]
    for column in columns["required"]:
        if column not in found:
            raise RawFileError(
                f"raw file {path} has no column '{column}' (it has: {', '.join(found)}). Required columns: "
                f"{', '.join(columns['required'])}; rename the column in the file or re-export it"
            )
    return "".join(f"cast(null as varchar) as {c}, " for c in columns["optional"] if c not in found)


def file_format(fmt: str, raw_dir: Path) -> str:
    fmt = fmt.strip().lower()
    if fmt not in FORMATS:
        raise RawFileError(
            f"RECSYS_RAW_FORMAT (dbt var raw_data_format) must be parquet or csv, got '{fmt}': "
            f"set it to the format of the files in {raw_dir}"
        )
    return fmt


def duckdb_statements(con: duckdb.DuckDBPyConnection, raw_dir: Path, fmt: str, views: bool) -> dict[str, tuple[Path, list[str]]]:
    """Per raw table: its file and the statements that create its relation (and its rejected lines),
    after checking every file; ``views`` keeps Parquet as views over the files."""
    statements = {}
    for table in contract():
        path = raw_dir / f"{table}.{fmt}"
        by_day = arrival_days(raw_dir, table)
        kind = "view" if views else "table"
        rejected = f"create or replace table raw.raw_{table}_rejected (line bigint, error varchar, raw_line varchar)"
        if table == "events" and fmt == "parquet" and files(con, path) == 0 and files(con, by_day) > 0:
            reader = f"read_parquet({sql_string(by_day)}, hive_partitioning = true, file_row_number = true, filename = true)"
            found = [c for c in describe(con, reader) if c not in ("file_row_number", "filename", "day")]
            extra = missing_columns(str(by_day), table, found)
            statements[table] = (
                by_day,
                [
                    f"create or replace {kind} raw.raw_{table} as select * exclude (file_row_number, filename, day), {extra}"
                    f"file_row_number + 1 as _row_number, filename as _source_file, cast(day as date) as _arrival_day "
                    f"from {reader}",
                    rejected,
                ],
            )
            continue
        if files(con, path) == 0:
            raise RawFileError(
                f"raw file missing: {path}. RECSYS_RAW_DIR must hold users, items and events files in the raw data "
                "contract (README, 'Raw data contract'); events may instead be folders events/day=YYYY-MM-DD/*.parquet; "
                f"write them with recsys-import or recsys-generate, or set RECSYS_RAW_FORMAT to the files' format (now {fmt})"
            )
        if path.stat().st_size == 0:
            raise RawFileError(
                f"raw file is empty (0 bytes): {path}. It needs a header row with the columns "
                f"{', '.join(contract()[table]['required'])}, then one row per {table[:-1]}"
            )
        if fmt == "csv":
            reader = (
                f"read_csv({sql_string(path)}, header = true, all_varchar = true, delim = ',', quote = '\"', escape = '\"', "
                f"store_rejects = true, rejects_table = 'recsys_rejects_{table}', rejects_scan = 'recsys_scans_{table}')"
            )
            extra = missing_columns(str(path), table, describe(con, reader))
            statements[table] = (
                path,
                [
                    f"create or replace table raw.raw_{table} as select *, {extra}row_number() over () as _row_number, "
                    f"{NO_ARRIVAL} from {reader}",
                    f"create or replace table raw.raw_{table}_rejected as select line, string_agg(distinct error_type || ' (' || "
                    f"error_message || ')', '; ') as error, min(csv_line) as raw_line from recsys_rejects_{table} group by line",
                ],
            )
        else:
            reader = f"read_parquet({sql_string(path)}, file_row_number = true)"
            extra = missing_columns(str(path), table, [c for c in describe(con, reader) if c != "file_row_number"])
            statements[table] = (
                path,
                [
                    f"create or replace {kind} raw.raw_{table} as select * exclude (file_row_number), {extra}"
                    f"file_row_number + 1 as _row_number, {NO_ARRIVAL} from {reader}",
                    rejected,
                ],
            )
    return statements


def arrival_days(raw_dir: Path, table: str) -> Path:
    """The pattern of a table's arrival-day folders' Parquet files (``<table>/day=YYYY-MM-DD/*.parquet``)."""
    return raw_dir / table / "day=*" / "*.parquet"


def csv_rows(path: Path) -> int:
    """A CSV file's lines less its header, counted without parsing (a quoted line break counts twice)."""
    with path.open("rb") as f:
        return max(0, sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b"")) - 1)


def event_rows(raw_dir: str | Path, fmt: str) -> int | None:
    """Rows of the events of ``raw_dir`` without reading them (Parquet footers, a CSV's lines), the
    files found as :func:`duckdb_statements` finds them; None when there are none."""
    raw_dir, fmt = Path(raw_dir), fmt.strip().lower()
    path = raw_dir / f"events.{fmt}"
    if fmt == "csv":
        return csv_rows(path) if path.is_file() else None
    with duckdb.connect() as con:
        pattern = path if files(con, path) else arrival_days(raw_dir, "events")
        if not files(con, pattern):
            return None
        return int(con.execute(f"select sum(num_rows) from parquet_file_metadata({sql_string(pattern)})").fetchone()[0])  # type: ignore[index]


def files(con: duckdb.DuckDBPyConnection, pattern: Path) -> int:
    return len(con.execute(f"select file from glob({sql_string(pattern)})").fetchall())


def describe(con: duckdb.DuckDBPyConnection, reader: str) -> list[str]:
    return [row[0] for row in con.execute(f"describe select * from {reader}").fetchall()]


def read_with_duckdb(con: duckdb.DuckDBPyConnection, raw_dir: Path, fmt: str, views: bool = True) -> dict[str, int]:
    """Create the raw relations in DuckDB (schema raw); rows per relation. Stops on a file without rows."""
    statements = duckdb_statements(con, raw_dir, fmt, views)
    con.execute("create schema if not exists raw")
    for _, sqls in statements.values():
        for sql in sqls:
            con.execute(sql)
    counts = {}
    for table, (path, _) in statements.items():
        for name in (f"raw_{table}", f"raw_{table}_rejected"):
            counts[name] = con.execute(f"select count(*) from raw.{name}").fetchall()[0][0]
        if counts[f"raw_{table}"] == 0:
            malformed = f" (its malformed lines are in raw.raw_{table}_rejected)" if fmt == "csv" else ""
            raise RawFileError(
                f"raw file {path} has a header but no rows that could be read: there is nothing to stage; "
                f"export the {table} into it{malformed}"
            )
    return counts


def load_into_spark(con: Connection, raw_dir: Path, fmt: str) -> dict[str, int]:
    if fmt != "parquet":
        raise RawFileError(
            f"RECSYS_RAW_FORMAT (dbt var raw_data_format) is '{fmt}': on Spark raw files must be Parquet. Write them with "
            "`recsys-import ... --format parquet` or `recsys-generate parquet`, or load CSV on DuckDB or PostgreSQL"
        )
    readers = {}
    for table in contract():
        path = raw_dir / f"{table}.parquet"
        reader = "parquet.`" + str(path).replace("`", "``") + "`"
        found = [row[0] for row in con.execute(f"describe query select * from {reader}").fetchall()]
        readers[table] = (reader, missing_columns(str(path), table, found))
    con.execute("create schema if not exists raw")
    counts = {}
    for table, (reader, extra) in readers.items():
        for name in (f"raw_{table}", f"raw_{table}_rejected"):  # Parquet tables cannot be replaced in one statement
            con.execute(f"drop table if exists raw.{name}")
        con.execute(
            f"create table raw.raw_{table} using parquet as select *, {extra}_metadata.row_index + 1 as _row_number from {reader}"
        )
        con.execute(f"create table raw.raw_{table}_rejected (line bigint, error string, raw_line string) using parquet")
        counts[f"raw_{table}"] = con.execute(f"select count(*) from raw.raw_{table}").fetchone()[0]  # type: ignore[index]
        if counts[f"raw_{table}"] == 0:
            raise RawFileError(f"raw file {raw_dir / table}.parquet has a header but no rows: there is nothing to stage")
    return counts


def load(raw_dir: str | Path, fmt: str = "parquet", path: str | Path | None = None) -> dict[str, int]:
    """Load the raw files of ``raw_dir`` into the raw schema of the target's warehouse (the DuckDB file
    at ``path``); rows per relation."""
    raw_dir = Path(raw_dir).resolve()
    fmt = file_format(fmt, raw_dir)
    target = settings.dbt_target()
    if target == "duckdb":
        with connect(path, read_only=False) as con:
            return read_with_duckdb(con.con, raw_dir, fmt)  # type: ignore[attr-defined]
    with connect() as con:
        if target == "spark":
            return load_into_spark(con, raw_dir, fmt)
        with duckdb.connect() as scratch:
            counts = read_with_duckdb(scratch, raw_dir, fmt, views=False)
            for name in counts:
                con.bulk_load("raw", name, scratch.sql(f"select * from raw.{name}").to_arrow_reader())  # type: ignore[attr-defined]
        return counts
