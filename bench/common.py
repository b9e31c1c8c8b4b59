"""What the benchmarks share: running the main job into a fresh data directory, and starting servers."""

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

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


def wait_until_ok(url: str, timeout: float = 180) -> None:
    """Until ``url`` answers 200 (a server starting); stops the bench after ``timeout`` seconds."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"{url} did not answer 200 in {timeout:.0f}s")
