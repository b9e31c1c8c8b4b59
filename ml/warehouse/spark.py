"""The Spark engine (``RECSYS_DBT_TARGET=spark``): a Spark Connect session (``ml.warehouse.spark_server``),
results and frames as Arrow."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pyarrow as pa

from ml.warehouse.engines import ARROW_TYPES, ArrowRows, Rows

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
        table = pa.table(arrays)
        if table.num_rows == 0:  # Spark infers no schema from no rows: it is the Arrow table's
            from pyspark.sql.pandas.types import from_arrow_schema

            return self.session.createDataFrame([], schema=from_arrow_schema(table.schema))
        return self.session.createDataFrame(table)

    def append(self, schema: str, table: str, frame: pd.DataFrame, columns: dict[str, str]) -> None:
        """Insert ``frame`` by column name, creating the table, or adding columns it lacks, as needed."""
        self.execute(f"create schema if not exists {schema}")
        spec = ", ".join(f"{name} {SPARK_TYPES.get(kind, kind)}" for name, kind in columns.items())
        self.execute(f"create table if not exists {schema}.{table} ({spec}) using parquet")
        have = set(self.session.table(f"{schema}.{table}").columns)
        added = [f"{name} {SPARK_TYPES.get(kind, kind)}" for name, kind in columns.items() if name not in have]
        if added:  # tables written before a column existed gain it
            self.execute(f"alter table {schema}.{table} add columns ({', '.join(added)})")
        if not len(frame):
            return
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
