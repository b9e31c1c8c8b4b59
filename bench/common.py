"""What the benchmarks share: running the main job into a fresh data directory."""

import os
import subprocess
import sys
from pathlib import Path

from ml import settings


def isolated_env(data_dir: Path) -> dict[str, str]:
    """The environment of a run whose warehouse, artifacts and Dagster instance live under ``data_dir``."""
    env = {
        **os.environ,
        "RECSYS_DATA_DIR": str(data_dir),
        "DAGSTER_HOME": str(data_dir.parent / "dagster_home"),
        "DBT_TARGET_PATH": str(data_dir.parent / "dbt_target"),  # its manifest apart from the checkout's
    }
    for var in ("RECSYS_DUCKDB_PATH", "RECSYS_RAW_DIR"):
        env.pop(var, None)
    return env


def run_pipeline(data_dir: Path) -> dict[str, str]:
    """``recsys-pipeline`` (the main job on the sample) into ``data_dir``; returns its environment."""
    env = isolated_env(data_dir)
    subprocess.run(
        [sys.executable, "-m", "dagster_defs.pipeline"], env=env, cwd=settings.ROOT, check=True, stdout=subprocess.DEVNULL
    )
    return env
