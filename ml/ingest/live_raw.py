"""The live log (``ml.live.log``: events the service received, lists it served) -> the warehouse's raw
schema, as the raw files go: ``raw.raw_live_events`` and ``raw.raw_exposures``, every value as text,
exactly as logged (staging types and checks them, ``stg_live__*``). The Dagster step ``raw/live_log``
runs it; the log is append-only, so each load replaces the raw tables with the whole log up to its newest
row. No log yet: empty tables, so the experiment marts build (and say there is nothing to measure).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ml.live.log import SCHEMA, LiveLog
from ml.warehouse.connection import connect

TABLES = {"events": "raw_live_events", "exposures": "raw_exposures"}


def columns(table: str) -> list[str]:
    """The log table's columns, from its schema (one declaration)."""
    (ddl,) = [s for s in SCHEMA if s.startswith(f"create table if not exists {table} ")]
    body = ddl[ddl.index("(") + 1 : ddl.rindex(")")]
    return [part.split()[0] for part in body.split(",")]


def as_text(frame: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """Every column as text, nulls kept (a score of 0.5 as '0.5', an id as its digits)."""
    out = pd.DataFrame({c: pd.Series(frame[c] if c in frame else [], dtype=object) for c in names})
    for c in names:
        out[c] = pd.array([None if pd.isna(v) else str(v) for v in out[c]], dtype="string")
    return out


def frames(log_path: str | Path) -> dict[str, pd.DataFrame]:
    """The raw tables' contents: the log's tables as text (empty when there is no log)."""
    log_path = Path(log_path)
    if not log_path.exists():
        return {raw: as_text(pd.DataFrame(), columns(table)) for table, raw in TABLES.items()}
    with LiveLog(log_path) as log:
        return {raw: as_text(log.table(table), columns(table)) for table, raw in TABLES.items()}


def load(log_path: str | Path, path: str | Path | None = None) -> dict[str, int]:
    """Replace the raw live tables of the target's warehouse (the DuckDB file at ``path``) with the log; rows per table."""
    loaded = frames(log_path)
    with connect(path, read_only=False) as con:
        for raw, frame in loaded.items():
            con.replace("raw", raw, frame)
    return {raw: len(frame) for raw, frame in loaded.items()}
