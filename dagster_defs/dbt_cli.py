"""The dbt command line of this Python environment. No Dagster import: ``recsys-pipeline`` starts
``dbt parse`` with it before it loads Dagster and the code location, so the two overlap."""

import contextlib
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
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


def target_dir() -> Path:
    """Where dbt and dagster-dbt keep the manifest: DBT_TARGET_PATH (relative to the project), else target/."""
    return settings.DBT_PROJECT_DIR / os.environ.get("DBT_TARGET_PATH", "target")


@contextlib.contextmanager
def parsed_into(target: Path) -> Iterator[Path]:
    """A scratch target path for ``dbt parse`` whose manifest then replaces ``target``'s in one rename:
    a process that loads the code location meanwhile (a run beside this one, ``dagster dev``) reads the
    old manifest or the new one, never a half-written one. dbt's partial-parse state goes along."""
    target.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".parse-", dir=target))
    try:
        state = target / "partial_parse.msgpack"
        if state.exists():
            shutil.copy2(state, scratch / state.name)
        yield scratch
        for name in ("partial_parse.msgpack", "manifest.json"):  # the manifest last
            if (scratch / name).exists():
                os.replace(scratch / name, target / name)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
