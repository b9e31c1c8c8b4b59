"""The evaluation results in the warehouse: ``evaluation.results``, one long table of every evaluation
run (model, version, run, test window, slice, metric, k, value, interval, p-value), and
``evaluation.user_results``, the headline metric per user that a later run's paired test reads.

Their columns are declared once, in the dbt source the leaderboard reads
(``dbt_project/models/leaderboard/_evaluation__sources.yml``): the tables are created from that
declaration, and a table written before a column existed gains it. The analyses (schema ``analysis``)
are stored with the same columns, plus their own.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import pandas as pd
import yaml

from ml import settings
from ml.evaluation.protocol import METRIC_COLUMNS
from ml.evaluation.uncertainty import Comparison
from ml.warehouse.connection import connect, table_exists
from ml.warehouse.engines import Connection

SCHEMA = "evaluation"
RESULTS = "results"
USER_RESULTS = "user_results"
VALIDATION_RESULTS = "validation_results"
SOURCES = settings.DBT_PROJECT_DIR / "models" / "leaderboard" / "_evaluation__sources.yml"


@cache
def declared_columns(table: str) -> dict[str, str]:
    """name -> portable type of ``evaluation.<table>``, as the dbt source declares them."""
    (source,) = yaml.safe_load(SOURCES.read_text())["sources"]
    (spec,) = [t for t in source["tables"] if t["name"] == table]
    return {c["name"]: c["data_type"] for c in spec["columns"]}


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def append(con: Connection, schema: str, table: str, frame: pd.DataFrame, columns: dict[str, str]) -> int:
    """``frame`` (every column of ``columns``) appended to ``<schema>.<table>``, created as needed."""
    missing = set(columns) - set(frame.columns)
    if missing:
        raise ValueError(f"rows for {schema}.{table} lack columns {sorted(missing)}")
    con.append(schema, table, frame[list(columns)], columns)
    return len(frame)


def append_results(frame: pd.DataFrame, identity: dict[str, str], path: str | Path | None = None) -> int:
    """Append an evaluation's metrics frame (``ml.evaluation.protocol.METRIC_COLUMNS``) to
    evaluation.results with its identity: model, model_version, run_id and test_window."""
    rows = frame.assign(**identity, evaluated_at=now())
    with connect(path, read_only=False) as con:
        return append(con, SCHEMA, RESULTS, rows, declared_columns(RESULTS))


def append_analysis(table: str, frame: pd.DataFrame, run_id: str, path: str | Path | None = None, **extra_columns: str) -> int:
    """Append an analysis's metrics frame (with model and model_version per row) to ``analysis.<table>``."""
    columns = {c: t for c, t in declared_columns(RESULTS).items() if c != "test_window"} | extra_columns
    unknown = {c: float("nan") for c in METRIC_COLUMNS if c not in frame}  # e.g. no interval
    rows = frame.assign(**unknown, run_id=run_id, evaluated_at=now())
    with connect(path, read_only=False) as con:
        return append(con, "analysis", table, rows, columns)


def write_user_results(
    model: str, per_user: pd.Series, run_id: str, model_version: str, test_window: str, path: str | Path | None = None
) -> None:
    """The headline metric per user of one evaluation run on the test window ``test_window`` (its
    fingerprint, ``ml.evaluation.protocol.window_id``)."""
    rows = pd.DataFrame(
        {
            "model": model,
            "model_version": model_version,
            "run_id": run_id,
            "test_window": test_window,
            "user_id": per_user.index.to_numpy(),
            "value": per_user.to_numpy(),
            "written_at": now(),
        }
    )
    with connect(path, read_only=False) as con:
        append(con, SCHEMA, USER_RESULTS, rows, declared_columns(USER_RESULTS))


def previous_user_results(model: str, test_window: str, path: str | Path | None = None) -> pd.Series | None:
    """The per-user headline metric of ``model``'s latest run on the same test window; None if there is
    none (the first evaluation, or new data moved the window since)."""
    with connect(path) as con:
        if not table_exists(con, SCHEMA, USER_RESULTS):
            return None
        frame = con.execute(
            f"select user_id, value from {SCHEMA}.{USER_RESULTS} where model = ? and run_id = "
            f"(select run_id from {SCHEMA}.{USER_RESULTS} where model = ? and test_window = ? "
            "order by written_at desc limit 1)",
            [model, model, test_window],
        ).df()
    return frame.set_index("user_id")["value"] if len(frame) else None


def latest_comparison(model: str, slice_: str, path: str | Path | None = None) -> Comparison | None:
    """The paired comparison (``ml.evaluation.protocol.comparison_rows``) of ``model``'s latest
    evaluation run, or None when that run has none (first run, or no baseline)."""
    with connect(path) as con:
        if not table_exists(con, SCHEMA, RESULTS):
            return None
        rows = con.execute(
            f"select value, ci_low, ci_high, p_value, n_users from {SCHEMA}.{RESULTS} where model = ? and slice = ? "
            f"and evaluated_at = (select max(evaluated_at) from {SCHEMA}.{RESULTS} where model = ?)",
            [model, slice_, model],
        ).fetchall()
    return Comparison(*rows[0]) if rows else None


def write_validation_results(model: str, identity: dict[str, str], rows: pd.DataFrame, path: str | Path | None = None) -> int:
    """A trained model's validation rows (row_key, label, value) with its identity: model_version,
    run_id, validation_window, features (fingerprint) and feature_names."""
    frame = rows.assign(model=model, **identity, written_at=now())
    with connect(path, read_only=False) as con:
        return append(con, SCHEMA, VALIDATION_RESULTS, frame, declared_columns(VALIDATION_RESULTS))


def validation_pair(model: str, version: str, path: str | Path | None = None) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """``version``'s validation rows and those of the model's latest earlier version on the same
    validation window; None when there is no earlier one (first training, or new data moved the window)."""
    with connect(path) as con:
        if not table_exists(con, SCHEMA, VALIDATION_RESULTS):
            return None
        table = f"{SCHEMA}.{VALIDATION_RESULTS}"
        new = con.execute(f"select * from {table} where model = ? and model_version = ?", [model, version]).df()
        if new.empty:
            return None
        old = con.execute(
            f"select * from {table} where model = ? and run_id = (select run_id from {table} where model = ? and "
            "validation_window = ? and model_version <> ? and written_at < ? order by written_at desc limit 1)",
            [model, model, new["validation_window"].iloc[0], version, new["written_at"].min()],
        ).df()
    return (new, old) if len(old) else None


def ensure_tables(path: str | Path | None = None) -> None:
    """Create the evaluation tables from their declaration (no rows), for a leaderboard before any
    evaluation; existing tables gain the declared columns they lack."""
    with connect(path, read_only=False) as con:
        for table in (RESULTS, USER_RESULTS, VALIDATION_RESULTS):
            con.append(SCHEMA, table, pd.DataFrame(columns=list(declared_columns(table))), declared_columns(table))


def results_summary(path: str | Path | None = None) -> pd.DataFrame:
    """Per model: its rows and runs, its latest evaluation and that run's rows, from evaluation.results."""
    with connect(path) as con:
        return con.execute(
            f"select model, count(*) as rows, count(distinct run_id) as runs, max(evaluated_at) as latest, "
            f"sum(case when evaluated_at = (select max(evaluated_at) from {SCHEMA}.{RESULTS} as l where l.model = r.model) "
            f"then 1 else 0 end) as latest_rows from {SCHEMA}.{RESULTS} as r group by model order by model"
        ).df()


assert set(METRIC_COLUMNS) <= set(declared_columns(RESULTS)), "the metrics frame and the evaluation source disagree"


def latest_by_slice(con: Connection, metric: str, k: int) -> pd.DataFrame:
    """model, slice, value of ``metric@k`` in each model's latest evaluation run (empty before any)."""
    if not table_exists(con, SCHEMA, RESULTS):
        return pd.DataFrame(columns=["model", "slice", "value"])
    return con.execute(
        f"select model, slice, value from {SCHEMA}.{RESULTS} as r where metric = ? and k = ? and run_id = "
        f"(select run_id from {SCHEMA}.{RESULTS} as l where l.model = r.model order by evaluated_at desc limit 1)",
        [metric, k],
    ).df()


def headline_history(con: Connection, k: int) -> pd.DataFrame:
    """model, evaluated_at, ndcg: NDCG@k on all test users of every evaluation run, oldest first."""
    if not table_exists(con, SCHEMA, RESULTS):
        return pd.DataFrame(columns=["model", "evaluated_at", "ndcg"])
    return con.execute(
        f"select model, evaluated_at, value as ndcg from {SCHEMA}.{RESULTS} "
        "where metric = 'ndcg' and k = ? and slice = 'all' order by evaluated_at, model",
        [k],
    ).df()


def latest_analysis(con: Connection, table: str) -> pd.DataFrame:
    """The rows of the latest run of ``analysis.<table>`` (empty when it has none)."""
    if not table_exists(con, "analysis", table):
        return pd.DataFrame()
    return con.execute(
        f"select * from analysis.{table} where run_id = (select run_id from analysis.{table} order by evaluated_at desc limit 1)"
    ).df()
