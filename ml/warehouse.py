"""Warehouse access for Python code: reads of the marts, writes of evaluation tables, on the engine
the dbt project builds on (``RECSYS_DBT_TARGET``): DuckDB, the embedded default, PostgreSQL or Spark.

One small interface for both: ``connect()`` gives a connection whose ``execute(sql, params)`` answers
``to_arrow_table()``, ``df()``, ``fetchall()`` and ``fetchone()`` (``?`` placeholders), and whose ``append`` / ``replace``
write a pandas frame into a table. DuckDB runs in process; PostgreSQL is reached through ADBC, results
come back as Arrow and frames go in by binary COPY; Spark through a Spark Connect server
(``ml.spark``), results and frames travel as Arrow.

DuckDB lets one process write a database file at a time (readers in other processes are refused
while a writer holds it too). Every DuckDB connection here retries with backoff while another process
holds the lock, so a Dagster step, a dbt run and a bench can queue on the file instead of failing.
"""

from __future__ import annotations

import contextlib
import random
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import duckdb
import pandas as pd
import pyarrow as pa

from ml import metrics as M
from ml import settings
from ml.uncertainty import Comparison

LOCK_WAIT_S = 600.0
ENGINES = ("dev", "postgres", "spark")  # dbt targets the Python side reads and writes


def _is_lock_error(exc: Exception) -> bool:
    text = str(exc).lower()
    return "lock" in text or "conflicting" in text or "already open" in text


class Rows(Protocol):
    def to_arrow_table(self) -> pa.Table: ...
    def df(self) -> pd.DataFrame: ...
    def fetchall(self) -> list[tuple]: ...
    def fetchone(self) -> tuple | None: ...


class Connection(Protocol):
    engine: str

    def execute(self, sql: str, params: list | None = None) -> Rows: ...
    def append(self, schema: str, table: str, frame: pd.DataFrame, columns: dict[str, str]) -> None: ...
    def replace(self, schema: str, table: str, frame: pd.DataFrame) -> None: ...


class DuckDBConnection:
    engine = "duckdb"

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con

    def execute(self, sql: str, params: list | None = None) -> Rows:
        return self.con.execute(sql, params or [])

    def append(self, schema: str, table: str, frame: pd.DataFrame, columns: dict[str, str]) -> None:
        """Insert ``frame`` by column name, creating the table, or adding columns it lacks, as needed."""
        self.con.execute(f"create schema if not exists {schema}")
        self.con.execute(f"create table if not exists {schema}.{table} ({', '.join(f'{n} {k}' for n, k in columns.items())})")
        for name, kind in columns.items():  # tables written before a column existed gain it
            self.con.execute(f"alter table {schema}.{table} add column if not exists {name} {kind}")
        self.con.register("frame_to_write", frame)
        self.con.execute(f"insert into {schema}.{table} by name select * from frame_to_write")
        self.con.unregister("frame_to_write")

    def replace(self, schema: str, table: str, frame: pd.DataFrame) -> None:
        self.con.execute(f"create schema if not exists {schema}")
        self.con.register("frame_to_write", frame)
        self.con.execute(f"create or replace table {schema}.{table} as select * from frame_to_write")
        self.con.unregister("frame_to_write")


class ArrowRows:
    def __init__(self, table: pa.Table) -> None:
        self.table = table

    def to_arrow_table(self) -> pa.Table:
        return self.table

    def df(self) -> pd.DataFrame:
        """As DuckDB's ``df()`` gives it: an integer column with nulls stays integer (pandas' Int64/Int32)."""
        frame = self.table.to_pandas()
        for name, column in zip(self.table.column_names, self.table.columns, strict=True):
            if pa.types.is_integer(column.type) and column.null_count:
                frame[name] = pd.array(column.to_pylist(), dtype=f"Int{column.type.bit_width}")
        return frame

    def fetchall(self) -> list[tuple]:
        return list(zip(*(column.to_pylist() for column in self.table.columns), strict=True))

    def fetchone(self) -> tuple | None:
        rows = self.fetchall()
        return rows[0] if rows else None


ARROW_TYPES = {
    "varchar": pa.string(),
    "integer": pa.int32(),
    "bigint": pa.int64(),
    "double": pa.float64(),
    "timestamp": pa.timestamp("us"),
}
POSTGRES_TYPES = {"double": "double precision"}
SQL_KINDS = {
    "double precision": "double",
    "character varying": "varchar",
    "text": "varchar",
    "timestamp without time zone": "timestamp",
}


class PostgresConnection:
    engine = "postgres"

    def __init__(self, con: Any) -> None:
        self.con = con

    def execute(self, sql: str, params: list | None = None) -> Rows:
        counter = iter(range(1, 1_000))
        sql = re.sub(r"\?", lambda _: f"${next(counter)}", sql)  # DuckDB's ? placeholders -> $1, $2, ...
        with self.con.cursor() as cur:
            cur.execute(sql, params or None)
            return ArrowRows(cur.fetch_arrow_table() if cur.description else pa.table({}))

    def append(self, schema: str, table: str, frame: pd.DataFrame, columns: dict[str, str]) -> None:
        """Insert ``frame`` by column name (binary COPY), creating the table, or adding columns, as needed."""
        self.execute(f"create schema if not exists {schema}")
        spec = ", ".join(f"{name} {POSTGRES_TYPES.get(kind, kind)}" for name, kind in columns.items())
        self.execute(f"create table if not exists {schema}.{table} ({spec})")
        for name, kind in columns.items():
            self.execute(f"alter table {schema}.{table} add column if not exists {name} {POSTGRES_TYPES.get(kind, kind)}")
        in_table = self.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = ? and table_name = ? order by ordinal_position",
            [schema, table],
        ).fetchall()
        # binary COPY wants the table's columns in its order, each with its exact type
        arrays = {}
        for name, data_type in in_table:
            kind = columns.get(name) or SQL_KINDS.get(data_type, data_type)
            values = frame[name] if name in frame else pd.Series([None] * len(frame), dtype=object)
            arrays[name] = pa.array(values, type=ARROW_TYPES[kind], from_pandas=True)
        with self.con.cursor() as cur:
            cur.adbc_ingest(table, pa.table(arrays), mode="append", db_schema_name=schema)

    def replace(self, schema: str, table: str, frame: pd.DataFrame) -> None:
        self.execute(f"create schema if not exists {schema}")
        self.execute(f"drop table if exists {schema}.{table}")
        with self.con.cursor() as cur:
            cur.adbc_ingest(table, pa.Table.from_pandas(frame, preserve_index=False), mode="create", db_schema_name=schema)


SPARK_TYPES = {"varchar": "string"}


class SparkConnection:
    engine = "spark"

    def __init__(self, session: Any) -> None:
        self.session = session

    def execute(self, sql: str, params: list | None = None) -> Rows:
        """``?`` placeholders are Spark's positional parameters; timestamps come back naive (UTC)."""
        table = self.session.sql(sql, args=params or None).toArrow()
        columns = [
            column.cast(pa.timestamp(column.type.unit)) if pa.types.is_timestamp(column.type) and column.type.tz else column
            for column in table.columns
        ]
        return ArrowRows(pa.table(columns, names=table.column_names))

    def arrow(self, frame: pd.DataFrame, columns: dict[str, str] | None = None) -> Any:
        """``frame`` as a Spark DataFrame, through Arrow; NaN is null, as on the other engines."""
        arrays = {
            name: pa.array(frame[name], type=ARROW_TYPES[columns[name]] if columns else None, from_pandas=True)
            for name in (columns or frame.columns)
        }
        return self.session.createDataFrame(pa.table(arrays))

    def append(self, schema: str, table: str, frame: pd.DataFrame, columns: dict[str, str]) -> None:
        """Insert ``frame`` by column name, creating the table, or adding columns it lacks, as needed."""
        self.execute(f"create schema if not exists {schema}")
        spec = ", ".join(f"{name} {SPARK_TYPES.get(kind, kind)}" for name, kind in columns.items())
        self.execute(f"create table if not exists {schema}.{table} ({spec}) using parquet")
        have = set(self.session.table(f"{schema}.{table}").columns)
        added = [f"{name} {SPARK_TYPES.get(kind, kind)}" for name, kind in columns.items() if name not in have]
        if added:  # tables written before a column existed gain it
            self.execute(f"alter table {schema}.{table} add columns ({', '.join(added)})")
        self.arrow(frame, columns).createOrReplaceTempView("frame_to_write")
        names = ", ".join(columns)
        self.execute(f"insert into {schema}.{table} ({names}) select {names} from frame_to_write")

    def tables(self, schema: str) -> list[str]:
        if not self.session.catalog.databaseExists(schema):
            return []
        return sorted(t.name for t in self.session.catalog.listTables(schema) if not t.isTemporary)

    def replace(self, schema: str, table: str, frame: pd.DataFrame) -> None:
        self.execute(f"create schema if not exists {schema}")
        self.arrow(frame).write.mode("overwrite").format("parquet").saveAsTable(f"{schema}.{table}")


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
        from ml import spark

        yield SparkConnection(spark.session())
        return
    if settings.dbt_target() == "postgres":
        from adbc_driver_postgresql import dbapi  # pip install -e ".[postgres]"

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
    return settings.dbt_target() != "dev" or Path(path or settings.warehouse_path()).exists()


def query_df(sql: str, path: str | Path | None = None, params: list | None = None) -> pd.DataFrame:
    with connect(path) as con:
        return con.execute(sql, params or []).df()


def scalar(con: Connection, sql: str, params: list | None = None):
    rows = con.execute(sql, params or []).fetchall()
    return rows[0][0] if rows else None


def tables_in(con: Connection, schema: str) -> list[str]:
    """The tables of ``schema``, by name (none when there is no such schema)."""
    if isinstance(con, SparkConnection):  # Spark has no information_schema
        return con.tables(schema)
    rows = con.execute("select table_name from information_schema.tables where table_schema = ? order by 1", [schema])
    return [row[0] for row in rows.fetchall()]


def table_exists(con: Connection, schema: str, table: str) -> bool:
    return table in tables_in(con, schema)


def table_exists_at(path: str | Path, schema: str, table: str) -> bool:
    with connect(path) as con:
        return table_exists(con, schema, table)


METRIC_COLUMNS = {
    "model": "varchar",
    "slice": "varchar",
    "metric": "varchar",
    "k": "integer",
    "value": "double",
    "n_users": "integer",
    "ci_low": "double",  # 95% per-user bootstrap interval (ranking metrics), or of a paired difference
    "ci_high": "double",
    "p_value": "double",  # paired t-test (rows of slices vs_popularity / vs_previous)
    "model_version": "varchar",
    "run_id": "varchar",
    "evaluated_at": "timestamp",
}


OPTIONAL_METRIC_COLUMNS = ("ci_low", "ci_high", "p_value")  # NULL where they do not apply


def append_metrics(
    table: str,
    frame: pd.DataFrame,
    path: str | Path | None = None,
    schema: str = "evaluation",
    extra_columns: dict[str, str] | None = None,
) -> int:
    """Append a long metrics frame (METRIC_COLUMNS, plus ``extra_columns`` name -> SQL type) to
    ``<schema>.<table>``, creating the table, or adding extra columns it lacks, as needed."""
    columns = {**METRIC_COLUMNS, **(extra_columns or {})}
    frame = frame.assign(**{c: float("nan") for c in OPTIONAL_METRIC_COLUMNS if c not in frame})
    missing = set(columns) - set(frame.columns)
    if missing:
        raise ValueError(f"metrics frame lacks columns {sorted(missing)}")
    rows = frame[list(columns)]
    with connect(path, read_only=False) as con:
        con.append(schema, table, rows, columns)
        if schema == "evaluation":
            write_metric_definitions(con)
    return len(rows)


def write_metric_definitions(con: Connection) -> None:
    """``evaluation.metric_definitions``: the metric registry (name, kind, position, description), from
    which the leaderboard takes its columns."""
    defs = pd.DataFrame(
        [(m.name, m.kind, pos, m.description, m.higher_is_better) for pos, m in enumerate(M.REGISTRY.values())],
        columns=["metric", "kind", "position", "description", "higher_is_better"],
    )
    con.replace("evaluation", "metric_definitions", defs)


USER_METRICS_SCHEMA = "evaluation_users"


def write_user_metrics(
    table: str, per_user: pd.Series, run_id: str, model_version: str, test_window: str, path: str | Path | None = None
) -> None:
    """The headline metric per user of one evaluation run on the test window ``test_window`` (its
    fingerprint, ``ml.evaluation.window_id``), appended to ``evaluation_users.<table>``: what a
    later run's paired test on the same window reads."""
    rows = pd.DataFrame(
        {
            "run_id": run_id,
            "model_version": model_version,
            "test_window": test_window,
            "user_id": per_user.index.to_numpy(),
            "value": per_user.to_numpy(),
        }
    ).assign(written_at=pd.Timestamp.now())
    columns = {
        "run_id": "varchar",
        "model_version": "varchar",
        "user_id": "bigint",
        "value": "double",
        "written_at": "timestamp",
        "test_window": "varchar",
    }
    with connect(path, read_only=False) as con:
        con.append(USER_METRICS_SCHEMA, table, rows, columns)


def previous_user_metrics(table: str, test_window: str, path: str | Path | None = None) -> pd.Series | None:
    """The per-user headline metric of the latest run in ``evaluation_users.<table>`` on the same test
    window; None if there is none (the first evaluation, or new data moved the window since)."""
    with connect(path) as con:
        if not table_exists(con, USER_METRICS_SCHEMA, table):
            return None
        if "test_window" not in con.execute(f"select * from {USER_METRICS_SCHEMA}.{table} limit 0").df().columns:
            return None  # written before evaluations recorded their window: nothing known to be comparable
        frame = con.execute(
            f"select user_id, value from {USER_METRICS_SCHEMA}.{table} where run_id = "
            f"(select run_id from {USER_METRICS_SCHEMA}.{table} where test_window = ? order by written_at desc limit 1)",
            [test_window],
        ).df()
    return frame.set_index("user_id")["value"] if len(frame) else None


def latest_comparison(table: str, slice_: str, path: str | Path | None = None, schema: str = "evaluation"):
    """The paired comparison (``ml.evaluation.comparison_rows``) of the latest evaluation run of
    ``table``, or None when that run has none (first run, or no baseline)."""
    with connect(path) as con:
        if not table_exists(con, schema, table):
            return None
        rows = con.execute(
            f"select value, ci_low, ci_high, p_value, n_users from {schema}.{table} "
            f"where slice = ? and evaluated_at = (select max(evaluated_at) from {schema}.{table})",
            [slice_],
        ).fetchall()
    return Comparison(*rows[0]) if rows else None
