"""``recsys-load-raw <dir>``: load raw files into the raw schema of a PostgreSQL warehouse, with COPY.

DuckDB reads the files exactly as the dbt hook ``register_raw_files`` does on the embedded default (the
same macro runs, through ``dbt run-operation`` on a scratch DuckDB file): every value as text, each
row's position in the file as ``_row_number``, and the lines a CSV reader cannot split in
``raw_<table>_rejected``; the same checks stop a missing file or column before anything is loaded.
The relations then stream as Arrow into ``raw.raw_<table>`` through ADBC's bulk ingest (PostgreSQL's
binary COPY), replacing what was there. Then build with the postgres target and the same directory::

    RECSYS_DBT_TARGET=postgres recsys-load-raw data/raw
    RECSYS_DBT_TARGET=postgres RECSYS_RAW_DIR=data/raw dbt build --project-dir dbt_project --profiles-dir dbt_project

Connection: RECSYS_PG_HOST, RECSYS_PG_PORT, RECSYS_PG_USER, RECSYS_PG_PASSWORD, RECSYS_PG_DATABASE
(the dbt profile's postgres target reads the same variables).
"""

import argparse
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

import duckdb

from ml import settings
from ml.errors import root_message

TABLES = ("users", "items", "events")


def events_by_day(events: Path, out: Path) -> int:
    """An events file as arrival-day folders ``out/day=YYYY-MM-DD/`` (each event arriving on the day it
    happened), the layout whose days the incremental models process one at a time; returns the days."""
    with duckdb.connect() as con:
        con.execute("set preserve_insertion_order = true")
        day = "strftime(cast(event_at as timestamp), '%Y-%m-%d')"
        con.execute(
            f"copy (select *, {day} as day from read_parquet({sql_string(events)})) "
            f"to {sql_string(out)} (format parquet, partition_by (day), overwrite_or_ignore)"
        )
    return len(list(out.glob("day=*")))


def sql_string(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def read_with_duckdb(raw_dir: Path, fmt: str, scratch: Path, database: Path | None = None) -> Path:
    """The raw relations as the embedded default reads them (the hook's macro), in a DuckDB file:
    ``database``, or a scratch file in ``scratch``."""
    database = database or scratch / "scratch.duckdb"  # not raw.duckdb: the catalog would shadow the raw schema
    env = {
        **os.environ,
        "RECSYS_DUCKDB_PATH": str(database),
        "RECSYS_DBT_TARGET": "dev",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    dbt_vars = json.dumps({"raw_data_dir": str(raw_dir.resolve()), "raw_data_format": fmt})
    cmd = settings.dbt_command(
        "run-operation", "register_raw_files", target_path=scratch / "target", log_path=scratch / "logs", dbt_vars=dbt_vars
    )
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:  # the macro's own message says which file, which column and the fix
        raise SystemExit(f"recsys-load-raw: {root_message(proc.stdout or proc.stderr)}")
    return database


def copy_to_postgres(database: Path, uri: str) -> dict[str, int]:
    """Every relation of the scratch file's raw schema into the PostgreSQL raw schema; rows per table."""
    from adbc_driver_postgresql import dbapi  # optional: pip install -e ".[postgres]"

    counts = {}
    with duckdb.connect(str(database), read_only=True) as con, dbapi.connect(uri) as pg:
        names = [
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables where table_schema = 'raw' order by 1"
            ).fetchall()
        ]
        with pg.cursor() as cur:
            cur.execute("create schema if not exists raw")
            for name in names:
                reader = con.sql(f'select * from raw."{name}"').to_arrow_reader()
                counts[name] = cur.adbc_ingest(name, reader, mode="replace", db_schema_name="raw")
        pg.commit()
    return counts


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="recsys-load-raw", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("raw_dir", type=Path, help="directory with users, items and events files in the raw data contract")
    parser.add_argument("--format", default=os.environ.get("RECSYS_RAW_FORMAT", "parquet"), help="parquet (default) or csv")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="recsys_load_") as scratch:
        database = read_with_duckdb(args.raw_dir, args.format.strip().lower(), Path(scratch))
        counts = copy_to_postgres(database, settings.postgres_uri())
    rows = ", ".join(f"raw.{name} {n:,}" for name, n in counts.items())
    print(f"loaded in {time.perf_counter() - t0:.1f}s: {rows}")


if __name__ == "__main__":
    main()
