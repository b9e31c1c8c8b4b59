"""Paths and environment settings shared by dbt, the Dagster code location, the service and benches."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DBT_PROJECT_DIR = ROOT / "dbt_project"


# the dbt executable of this interpreter's environment (works without an activated venv)
DBT_EXECUTABLE = str(Path(sys.executable).parent / "dbt")


def data_dir() -> Path:
    """Root of generated files (warehouse, artifacts); ``RECSYS_DATA_DIR`` moves it."""
    return Path(os.environ.get("RECSYS_DATA_DIR", ROOT / "data")).resolve()


def warehouse_path() -> Path:
    """The DuckDB warehouse file; ``RECSYS_DUCKDB_PATH`` overrides ``<data>/warehouse.duckdb``."""
    return Path(os.environ.get("RECSYS_DUCKDB_PATH", data_dir() / "warehouse.duckdb")).resolve()


def artifacts_dir() -> Path:
    """Root of the versioned model artifacts: ``<data>/models``."""
    return data_dir() / "models"
