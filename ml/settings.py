"""Paths and environment settings shared by dbt, the Dagster code location, the service and benches
(the RECSYS_* environment: one source of truth, read where it is used)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DBT_PROJECT_DIR = ROOT / "dbt_project"


def dbt_target() -> str:
    """The dbt target the project builds on (profiles.yml): duckdb (the default), postgres or spark."""
    return os.environ.get("RECSYS_DBT_TARGET", "duckdb")


def postgres_uri(env: Mapping[str, str] | None = None) -> str:
    """The PostgreSQL database of the postgres target (RECSYS_PG_* of ``env``, default the process's
    environment, as profiles.yml reads them)."""
    from urllib.parse import quote

    env = os.environ if env is None else env
    user = quote(env.get("RECSYS_PG_USER", "postgres"), safe="")
    password = env.get("RECSYS_PG_PASSWORD", "")
    auth = f"{user}:{quote(password, safe='')}" if password else user
    host, port = env.get("RECSYS_PG_HOST", "127.0.0.1"), env.get("RECSYS_PG_PORT", "5432")
    return f"postgresql://{auth}@{host}:{port}/{quote(env.get('RECSYS_PG_DATABASE', 'recsys'), safe='')}"


def warehouse_label(path: str | Path | None = None) -> str:
    """Where the warehouse is, for people: the DuckDB file, the PostgreSQL server and database (never a
    password), or the Spark Connect server."""
    if dbt_target() == "postgres":
        host, port = os.environ.get("RECSYS_PG_HOST", "127.0.0.1"), os.environ.get("RECSYS_PG_PORT", "5432")
        return f"postgres {host}:{port}/{os.environ.get('RECSYS_PG_DATABASE', 'recsys')}"
    if dbt_target() == "spark":
        return f"spark {os.environ.get('SPARK_REMOTE', '(no SPARK_REMOTE)')}"
    return f"duckdb {Path(path or warehouse_path()).name}"


def events_start_date() -> str:
    """The first arrival day of the Dagster partitions of the incremental event models (YYYY-MM-DD);
    RECSYS_EVENTS_START, default the synthetic data's first day."""
    return os.environ.get("RECSYS_EVENTS_START", "2026-01-01")


def ann_min_items() -> int:
    """Catalogue size from which the service retrieves an embedding model's top-k through its ANN index
    (exact search below it); RECSYS_ANN_MIN_ITEMS, default measured by ``python -m bench.ann``."""
    return int(os.environ.get("RECSYS_ANN_MIN_ITEMS", "20000"))


def stale_after_hours() -> float:
    """How far (hours) a served model's data may lag the marts' newest event before it is called stale
    (the Dagster check ``trained_on_the_newest_data`` warns); RECSYS_STALE_AFTER_HOURS, default 24: a
    daily retrain."""
    text = os.environ.get("RECSYS_STALE_AFTER_HOURS", "24")
    try:
        hours = float(text)
    except ValueError:
        hours = -1.0
    if not hours >= 0:
        raise ValueError(f"RECSYS_STALE_AFTER_HOURS={text!r}: give hours (e.g. 24), or leave it unset")
    return hours


def data_dir() -> Path:
    """Root of generated files (warehouse, artifacts); ``RECSYS_DATA_DIR`` moves it."""
    return Path(os.environ.get("RECSYS_DATA_DIR", ROOT / "data")).resolve()


def warehouse_path() -> Path:
    """The DuckDB warehouse file; ``RECSYS_DUCKDB_PATH`` overrides ``<data>/warehouse.duckdb``."""
    return Path(os.environ.get("RECSYS_DUCKDB_PATH", data_dir() / "warehouse.duckdb")).resolve()


def live_log_path() -> Path:
    """The service's live log (events received, lists served): ``RECSYS_LIVE_LOG`` overrides
    ``<data>/live/live.sqlite``. Every service worker and the Dagster step that loads it share the file."""
    return Path(os.environ.get("RECSYS_LIVE_LOG", data_dir() / "live" / "live.sqlite")).resolve()


def experiments_path() -> Path:
    """The experiments the service runs (``ml.live.experiments``): ``RECSYS_EXPERIMENTS`` overrides
    ``<data>/experiments.yml``; no file, no experiment."""
    return Path(os.environ.get("RECSYS_EXPERIMENTS", data_dir() / "experiments.yml")).resolve()


def artifacts_dir() -> Path:
    """Root of the versioned model artifacts: ``<data>/models``."""
    return data_dir() / "models"
