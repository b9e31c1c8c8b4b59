"""The dbt command line of this Python environment. No Dagster import: ``recsys-pipeline`` starts
``dbt parse`` with it before it loads Dagster and the code location, so the two overlap."""

import sys
from pathlib import Path

from ml import settings

# the dbt executable of this interpreter's environment (works without an activated venv)
DBT_EXECUTABLE = str(Path(sys.executable).parent / "dbt")


def vars_args(dbt_vars: str) -> list[str]:
    """``--vars`` for dbt when any are set (YAML or JSON text)."""
    return ["--vars", dbt_vars] if dbt_vars.strip() else []


def dbt_command(*args: str, target_path: Path | None = None, log_path: Path | None = None, dbt_vars: str = "") -> list[str]:
    """A dbt command line for this project, with the dbt of this Python environment."""
    project = str(settings.DBT_PROJECT_DIR)
    cmd = [DBT_EXECUTABLE, *args, *vars_args(dbt_vars), "--project-dir", project, "--profiles-dir", project]
    if target_path is not None:
        cmd += ["--target-path", str(target_path)]
    if log_path is not None:
        cmd += ["--log-path", str(log_path)]
    return cmd
