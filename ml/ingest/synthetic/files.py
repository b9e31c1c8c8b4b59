"""Writing generated data in the raw data contract (seed CSVs, Parquet files), malformed rows included."""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from ml import columns as C
from ml.ingest.synthetic.truth import SyntheticData


def _add_dirty_rows(events: pd.DataFrame, share: float, rng: np.random.Generator) -> pd.DataFrame:
    """Append realistic defects (kept apart from the ground truth) so quarantine has work to do."""
    n = max(5, int(len(events) * share / 6))
    ev = events.astype({C.EVENT_TYPE: str, C.EVENT_AT: str, C.USER_ID: object, C.ITEM_ID: object})

    def pick() -> pd.DataFrame:
        return ev.iloc[rng.choice(len(ev), n, replace=False)].copy()

    next_id = int(events[C.EVENT_ID].max()) + 1
    dup = pick()  # exact duplicates keep their event_id
    missing_user = pick().assign(**{C.USER_ID: None})
    bad_type = pick().assign(**{C.EVENT_TYPE: "hover"})
    bad_ts = pick().assign(**{C.EVENT_AT: "not-a-timestamp"})
    old_ts = pick().assign(**{C.EVENT_AT: "1970-01-01 00:00:00"})
    unknown_item = pick().assign(**{C.ITEM_ID: 99_999_999})
    fresh = [missing_user, bad_type, bad_ts, old_ts, unknown_item]
    for i, frame in enumerate(fresh):
        frame[C.EVENT_ID] = np.arange(next_id + i * n, next_id + (i + 1) * n)
    out = pd.concat([ev, dup, *fresh], ignore_index=True)
    return out.sort_values(C.EVENT_ID, kind="stable").reset_index(drop=True)


def write_csv(data: SyntheticData, directory: str | Path, prefix: str = "raw_") -> dict[str, Path]:
    """Write the contract tables as CSV (the dbt seeds use ``prefix='raw_'``)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, frame in (("users", data.users), ("items", data.items), ("events", data.events)):
        paths[name] = directory / f"{prefix}{name}.csv"
        frame.to_csv(paths[name], index=False, date_format="%Y-%m-%d %H:%M:%S")
    return paths


def write_parquet(data: SyntheticData, directory: str | Path) -> dict[str, Path]:
    """Write the contract tables as Parquet files ``users.parquet``, ``items.parquet``, ``events.parquet``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, frame in (("users", data.users), ("items", data.items), ("events", data.events)):
        if name == "events" and frame[C.EVENT_TYPE].dtype.name == "category":
            frame = frame.astype({C.EVENT_TYPE: str})
        paths[name] = directory / f"{name}.parquet"
        frame.to_parquet(paths[name], index=False)
    return paths


def events_by_day(events: Path, out: Path) -> int:
    """An events Parquet file as arrival-day folders ``out/day=YYYY-MM-DD/`` (each event arriving on the
    day it happened), the layout whose days the incremental models process one at a time; the days."""
    with duckdb.connect() as con:
        con.execute("set preserve_insertion_order = true")
        day = "strftime(cast(event_at as timestamp), '%Y-%m-%d')"
        source, target = (("'" + str(p).replace("'", "''") + "'") for p in (events, out))
        con.execute(
            f"copy (select *, {day} as day from read_parquet({source})) to {target} "
            "(format parquet, partition_by (day), overwrite_or_ignore)"
        )
    return len(list(out.glob("day=*")))
