"""DuckDB warehouse access for Python code: reads of the marts, writes of evaluation tables.

DuckDB lets one process write a database file at a time (readers in other processes are refused
while a writer holds it too). Every connection here retries with backoff while another process
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

from ml import metrics as M
from ml import settings
from ml.uncertainty import Comparison

LOCK_WAIT_S = 600.0


def _is_lock_error(exc: Exception) -> bool:
    text = str(exc).lower()
    return "lock" in text or "conflicting" in text or "already open" in text


def require_duckdb_target() -> None:
    if settings.dbt_target() != "dev":
        raise RuntimeError(
            f"RECSYS_DBT_TARGET={settings.dbt_target()}: dbt builds there, but the Python assets, the evaluation "
            "and the service read the DuckDB warehouse only so far; use that target with dbt alone "
            "(README, 'Other engines'), or unset RECSYS_DBT_TARGET for the whole graph"
        )


@contextlib.contextmanager
def connect(
    path: str | Path | None = None, read_only: bool = True, wait_s: float = LOCK_WAIT_S
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to the warehouse that waits (up to ``wait_s``) for another process's lock."""
    require_duckdb_target()
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
        yield con
    finally:
        con.close()


def query_df(sql: str, path: str | Path | None = None, params: list | None = None) -> pd.DataFrame:
    with connect(path) as con:
        return con.execute(sql, params or []).df()


def scalar(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None):
    rows = con.execute(sql, params or []).fetchall()
    return rows[0][0] if rows else None


def table_exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return bool(
        scalar(con, "select count(*) from information_schema.tables where table_schema = ? and table_name = ?", [schema, table])
    )


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
        con.execute(f"create schema if not exists {schema}")
        con.execute(
            f"create table if not exists {schema}.{table} "
            f"({', '.join(f'{name} {kind}' for name, kind in METRIC_COLUMNS.items())})"
        )
        for name, kind in columns.items():  # tables written before a column existed gain it
            con.execute(f"alter table {schema}.{table} add column if not exists {name} {kind}")
        con.register("metrics_frame", rows)
        con.execute(f"insert into {schema}.{table} by name select * from metrics_frame")
        con.unregister("metrics_frame")
        if schema == "evaluation":
            write_metric_definitions(con)
    return len(rows)


def write_metric_definitions(con: duckdb.DuckDBPyConnection) -> None:
    """``evaluation.metric_definitions``: the metric registry (name, kind, position, description), from
    which the leaderboard takes its columns."""
    defs = pd.DataFrame(
        [(m.name, m.kind, pos, m.description, m.higher_is_better) for pos, m in enumerate(M.REGISTRY.values())],
        columns=["metric", "kind", "position", "description", "higher_is_better"],
    )
    con.register("metric_defs", defs)
    con.execute("create or replace table evaluation.metric_definitions as select * from metric_defs")
    con.unregister("metric_defs")


USER_METRICS_SCHEMA = "evaluation_users"


def write_user_metrics(table: str, per_user: pd.Series, run_id: str, model_version: str, path: str | Path | None = None) -> None:
    """The headline metric per user of one evaluation run, appended to ``evaluation_users.<table>``:
    what the next run's paired test against this one reads."""
    rows = pd.DataFrame(
        {"run_id": run_id, "model_version": model_version, "user_id": per_user.index.to_numpy(), "value": per_user.to_numpy()}
    )
    with connect(path, read_only=False) as con:
        con.execute(f"create schema if not exists {USER_METRICS_SCHEMA}")
        con.execute(
            f"create table if not exists {USER_METRICS_SCHEMA}.{table} "
            "(run_id varchar, model_version varchar, user_id bigint, value double, "
            "written_at timestamp default current_timestamp)"
        )
        con.register("user_rows", rows)
        con.execute(f"insert into {USER_METRICS_SCHEMA}.{table} by name select * from user_rows")
        con.unregister("user_rows")


def previous_user_metrics(table: str, path: str | Path | None = None) -> pd.Series | None:
    """The per-user headline metric of the latest run in ``evaluation_users.<table>``; None if none."""
    with connect(path) as con:
        if not table_exists(con, USER_METRICS_SCHEMA, table):
            return None
        frame = con.execute(
            f"select user_id, value from {USER_METRICS_SCHEMA}.{table} where run_id = "
            f"(select run_id from {USER_METRICS_SCHEMA}.{table} order by written_at desc limit 1)"
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
