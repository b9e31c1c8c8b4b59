"""The interface every warehouse engine implements, and the embedded default, DuckDB.

A connection's ``execute(sql, params)`` answers ``to_arrow_table()``, ``df()``, ``fetchall()`` and
``fetchone()`` (``?`` placeholders), and its ``append`` / ``replace`` write a pandas frame into a table.
DuckDB runs in process; PostgreSQL (``ml.warehouse.postgres``) is reached through ADBC (Arrow results,
binary COPY); Spark (``ml.warehouse.spark``) through a Spark Connect server, as Arrow.
``ml.warehouse.connection.connect`` opens the one of the dbt target.
"""

from __future__ import annotations

from typing import Protocol

import duckdb
import pandas as pd
import pyarrow as pa


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


ARROW_TYPES = {
    "varchar": pa.string(),
    "integer": pa.int32(),
    "bigint": pa.int64(),
    "double": pa.float64(),
    "timestamp": pa.timestamp("us"),
}


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
        if len(frame):
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
