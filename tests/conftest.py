import os
import subprocess
from pathlib import Path

import pytest

from ml import settings

DBT = settings.DBT_EXECUTABLE


def run_dbt(args: list[str], warehouse: Path, raw_dir: Path | None = None, raw_format: str = "parquet",
            check: bool = True) -> subprocess.CompletedProcess:
    """Run dbt on the project against ``warehouse``, optionally reading raw files instead of seeds."""
    env = {**os.environ, "RECSYS_DUCKDB_PATH": str(warehouse), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    env.pop("RECSYS_RAW_DIR", None)
    if raw_dir is not None:
        env["RECSYS_RAW_DIR"] = str(raw_dir)
        env["RECSYS_RAW_FORMAT"] = raw_format
    target = warehouse.parent / "dbt_target"
    proc = subprocess.run(
        [DBT, *args, "--project-dir", str(settings.DBT_PROJECT_DIR), "--profiles-dir", str(settings.DBT_PROJECT_DIR),
         "--target-path", str(target), "--log-path", str(warehouse.parent / "dbt_logs")],
        env=env, capture_output=True, text=True,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"dbt {' '.join(args)} failed:\n{proc.stdout[-6000:]}\n{proc.stderr[-2000:]}")
    return proc


@pytest.fixture(scope="session")
def sample_warehouse(tmp_path_factory) -> Path:
    """The committed sample built by `dbt build` (all data tests and unit tests must pass)."""
    warehouse = tmp_path_factory.mktemp("sample") / "warehouse.duckdb"
    run_dbt(["build"], warehouse)
    return warehouse
