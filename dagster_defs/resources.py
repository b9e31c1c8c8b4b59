"""Resources: where the warehouse, the artifacts and the ground truth live, evaluation settings, and dbt."""

import contextlib
import functools
import json
import os
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import yaml
from dagster_dbt import DbtCliResource
from dagster_dbt.compat import DBT_PYTHON_VERSION
from dagster_dbt.core.dbt_event_iterator import DbtEventIterator
from pydantic import Field

from dagster_defs.dbt_cli import DBT_EXECUTABLE, vars_args
from dagster_defs.project import dbt_project
from ml import settings
from ml.ingest import synthetic
from ml.threads import apply as apply_threads
from ml.threads import budget as thread_budget


def default_ground_truth() -> str:
    raw = os.environ.get("RECSYS_RAW_DIR")
    return str(Path(raw) / "ground_truth.npz") if raw else str(synthetic.SAMPLE_GROUND_TRUTH)


class RecsysResource(dg.ConfigurableResource):
    """Settings shared by the ML and evaluation assets (defaults follow the RECSYS_* environment). The
    warehouse is not one of them: dbt and Python read it from the environment alone (RECSYS_DBT_TARGET,
    RECSYS_DUCKDB_PATH, RECSYS_PG_*), so the two can never disagree."""

    artifacts_dir: str = Field(
        default_factory=lambda: str(settings.artifacts_dir()), description="root of the versioned model artifacts"
    )
    ground_truth_path: str = Field(
        default_factory=default_ground_truth, description="generator ground truth for the oracle; missing = no oracle"
    )
    dbt_vars: str = Field(
        default_factory=lambda: os.environ.get("RECSYS_DBT_VARS", ""),
        description="dbt vars for every dbt run, as YAML or JSON (e.g. {test_days: 14, event_time_min: '1995-01-01'}); "
        "override dbt_project.yml; default RECSYS_DBT_VARS",
    )
    threads: int = Field(
        default_factory=thread_budget,
        ge=1,
        description="threads of every parallel library in the Python steps (torch, BLAS, numba, implicit, LightGBM, "
        "FAISS); default RECSYS_THREADS, else the machine's cores - 1 (measured: bench/threads.py)",
    )

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        apply_threads(self.threads)


class ProcessDbtCliResource(DbtCliResource):
    """``DbtCliResource`` whose per-process work is done once per process, not once per step.

    Every dbt step of a run gets a fresh resource, and dagster-dbt's ``cli`` then runs ``dbt --version``
    (a 2.7 s subprocess, to tell dbt Core from Fusion; this environment's own dbt needs no subprocess:
    ``_dbt_version``) and builds an in-process adapter with every macro
    of the project (3 s, for row counts and column metadata). Measured on the sample's main job: 17 s of
    123 s, for four dbt steps (``python -m bench.pipeline``). Both answers are the same for every step of
    a process (the version of this environment's dbt; the adapter of the same profile, target and vars),
    so they are kept per process. The two members are dagster-dbt's private ones: the override is the
    place to look when dagster-dbt is upgraded (its tests cover row counts and column schemas)."""

    @property
    def _cli_version(self):  # type: ignore[override]
        return _dbt_version(self.dbt_executable)

    def _initialize_dbt_core_adapter(self, args):  # type: ignore[override]
        key = (str(self.project_dir), tuple(args), settings.dbt_target(), os.environ.get("RECSYS_DUCKDB_PATH", ""))
        if key not in _ADAPTERS:
            _ADAPTERS.clear()  # one adapter per process: dbt registers adapters globally
            _ADAPTERS[key] = super()._initialize_dbt_core_adapter(args)
        return _ADAPTERS[key]


_ADAPTERS: dict[tuple, object] = {}


@functools.cache
def _dbt_version(executable: str):
    """The dbt executable's version. This environment's own ``dbt`` is the dbt-core installed beside
    dagster-dbt, whose version is known without starting it; any other executable is asked."""
    if Path(executable) == Path(DBT_EXECUTABLE) and DBT_PYTHON_VERSION is not None:
        return DBT_PYTHON_VERSION
    return DbtCliResource(project_dir=str(settings.DBT_PROJECT_DIR), dbt_executable=executable)._cli_version


def prepare_adapter(dbt_vars: str) -> None:
    """Build this process's dbt adapter for ``dbt build`` with these vars ahead of the first dbt step
    (the pipeline does it while the dbt project is being parsed in another process)."""
    resource = dbt_resource()
    with contextlib.chdir(resource.project_dir):  # where dagster-dbt's cli builds it
        resource._initialize_dbt_core_adapter(["build", *vars_args(dbt_vars)])


def dbt_resource() -> DbtCliResource:
    """dbt of this Python environment (works without an activated venv)."""
    return ProcessDbtCliResource(project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE)  # type: ignore[arg-type]  # DbtProject, as the base takes it


def dbt_build(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, recsys: RecsysResource, extra_vars: dict | None = None
) -> Iterator:
    """``dbt build`` of the context's selection with the run's dbt vars; its events carry row counts
    and column schemas.

    Those are queried through dbt's adapter in this process, which opens the warehouse itself. DuckDB
    has one writer per file and the dbt subprocess holds it until it exits, so the events are first
    read to the end (dbt never blocks on a full output pipe while this process waits for its lock),
    and then enriched. dbt-duckdb keeps its handle open afterwards: it is closed when done, so that the
    next step (a dbt subprocess or a Python reader) can open the warehouse."""
    dbt_vars = recsys.dbt_vars
    if extra_vars:  # laid over the run's vars (YAML is a superset of JSON)
        dbt_vars = json.dumps({**(yaml.safe_load(dbt_vars) or {}), **extra_vars})
    invocation = dbt.cli(["build", *vars_args(dbt_vars)], context=context, raise_on_error=False)
    events = list(invocation.stream())  # dbt has exited when this returns
    try:
        yield from DbtEventIterator(iter(events), invocation).fetch_row_counts().fetch_column_metadata()
    finally:
        release_adapter_connection()
    if not invocation.is_successful():
        raise invocation.get_error() or RuntimeError("dbt build failed")


def release_adapter_connection() -> None:
    """Close dbt-duckdb's in-process database handle. dbt-duckdb keeps it in a class attribute; its public
    ``close_all_connections()`` only drops the reference while the adapter's cursors keep the file open
    (and locked for the next step), so the handle is closed here, under the adapter's own lock."""
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:  # another adapter: nothing held in this process
        return
    with DuckDBConnectionManager._LOCK:
        if DuckDBConnectionManager._ENV is not None:
            DuckDBConnectionManager._ENV.close()
            DuckDBConnectionManager._ENV = None
