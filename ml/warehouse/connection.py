"""Opening the warehouse the dbt project builds on (``RECSYS_DBT_TARGET``): the DuckDB file (the
embedded default), the PostgreSQL database of ``RECSYS_PG_*`` or the Spark Connect server of
``SPARK_REMOTE``; and the small helpers every reader shares. The queries themselves live in
``ml.warehouse.marts`` and ``ml.warehouse.evaluation_store``.

DuckDB lets one process write a database file at a time (readers in other processes are refused
while a writer holds it too). Every DuckDB connection here retries with backoff while another process
holds the lock, so a Dagster step, a dbt run and a bench can queue on the file instead of failing.
"""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pandas as pd

from ml import settings
from ml.warehouse.engines import Connection, DuckDBConnection

LOCK_WAIT_S = 600.0
ENGINES = ("duckdb", "postgres", "spark")  # dbt targets the Python side reads and writes


def _is_lock_error(exc: Exception) -> bool:
    text = str(exc).lower()
    return "lock" in text or "conflicting" in text or "already open" in text


def require_supported_target() -> None:
    if settings.dbt_target() not in ENGINES:
        raise RuntimeError(
            f"RECSYS_DBT_TARGET={settings.dbt_target()}: the Python assets, the evaluation and the service read and "
            f"write {' or '.join(ENGINES)} targets only; build that target with dbt alone (README, 'Other engines')"
        )


@contextlib.contextmanager
def connect(path: str | Path | None = None, read_only: bool = True, wait_s: float = LOCK_WAIT_S) -> Iterator[Connection]:
    """A connection to the warehouse of the dbt target: the DuckDB file at ``path`` (waiting up to
    ``wait_s`` for another process's lock), the PostgreSQL database of RECSYS_PG_*, or the Spark
    Connect server of SPARK_REMOTE."""
    require_supported_target()
    if settings.dbt_target() == "spark":
        from ml.warehouse import spark_server
        from ml.warehouse.spark import SparkConnection

        yield SparkConnection(spark_server.session())
        return
    if settings.dbt_target() == "postgres":
        from adbc_driver_postgresql import dbapi  # pip install -e ".[postgres]"

        from ml.warehouse.postgres import PostgresConnection

        pg = dbapi.connect(settings.postgres_uri(), autocommit=True)
        try:
            yield PostgresConnection(pg)
        finally:
            pg.close()
        return
    path = str(path or settings.warehouse_path())
    if read_only and not Path(path).exists():
        raise FileNotFoundError(f"warehouse {path} does not exist: run the pipeline (README) first")
    deadline = time.monotonic() + wait_s
    delay = 0.05
    while True:
        try:
            con = duckdb.connect(path, read_only=read_only)
            break
        except (duckdb.IOException, duckdb.ConnectionException) as exc:
            if not _is_lock_error(exc) or time.monotonic() > deadline:
                raise
            time.sleep(delay * (1 + random.random()))
            delay = min(delay * 2, 2.0)
    try:
        yield DuckDBConnection(con)
    finally:
        con.close()


def warehouse_exists(path: str | Path | None = None) -> bool:
    """Whether there is a warehouse to read (a PostgreSQL database or a Spark server is taken to exist)."""
    return settings.dbt_target() != "duckdb" or Path(path or settings.warehouse_path()).exists()


def query_df(sql: str, path: str | Path | None = None, params: list | None = None) -> pd.DataFrame:
    with connect(path) as con:
        return con.execute(sql, params or []).df()


def scalar(con: Connection, sql: str, params: list | None = None):
    rows = con.execute(sql, params or []).fetchall()
    return rows[0][0] if rows else None


def tables_in(con: Connection, schema: str) -> list[str]:
    """The tables of ``schema``, by name (none when there is no such schema)."""
    if con.engine == "spark":  # Spark has no information_schema
        return con.tables(schema)  # type: ignore[attr-defined]
    rows = con.execute("select table_name from information_schema.tables where table_schema = ? order by 1", [schema])
    return [row[0] for row in rows.fetchall()]


def table_exists(con: Connection, schema: str, table: str) -> bool:
    return table in tables_in(con, schema)
