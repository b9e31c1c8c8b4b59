"""``recsys-pipeline``: materialize the main job (or a selection) and report its progress.

Parses the dbt project (writes the manifest the code location loads), points DAGSTER_HOME at
``data/dagster_home`` unless it is set, and runs the selected assets, their steps one at a time in this
process or side by side in processes of their own (``--processes``; ``dagster_defs/execution.py``).
The terminal gets one line per materialized asset (n/total, name, seconds, a key figure) and a
summary at the end, also when the run fails; every event of the run goes to a log file under
``data/logs``. The run is recorded in the Dagster instance, so the UI shows it too.
"""

import argparse
import contextlib
import importlib
import os
import shutil
import subprocess
import sys
import time
import uuid
import warnings
from datetime import datetime
from pathlib import Path

from dagster_defs.dbt_cli import dbt_command, parsed_into, target_dir
from dagster_defs.run_config import merged, parse_mapping, parse_vars
from dagster_defs.terminal import TerminalReport, closing_summary, output_to
from ml import settings
from ml.warehouse.connection import require_supported_target

INTERRUPTED = 130  # the shell's exit status after Ctrl-C
USAGE = 2  # a mistake in the command line: nothing ran


def absolute_environment() -> None:
    """dbt runs in dbt_project/: make every path setting absolute before it is inherited."""
    for var in ("RECSYS_DATA_DIR", "RECSYS_DUCKDB_PATH", "RECSYS_RAW_DIR"):
        if os.environ.get(var):
            os.environ[var] = str(Path(os.environ[var]).resolve())
    settings.warehouse_path().parent.mkdir(parents=True, exist_ok=True)


def engine_server() -> contextlib.AbstractContextManager:
    """On Spark without SPARK_REMOTE, a local Spark Connect server for the run (dbt and the Python
    assets share it: ml/spark.py); nothing to start on the other engines."""
    if settings.dbt_target() != "spark":
        return contextlib.nullcontext()
    from ml.warehouse import spark_server

    if not spark_server.remote():
        print(f"starting a local Spark Connect server (tables under {spark_server.spark_dir()}) ...", flush=True)
    return spark_server.server_for_run()


# what the code location imports without reading the dbt manifest, and dbt's in-process adapter: made
# ready while dbt parses the project in its own process (3-7 s, on the other core)
WARM_MODULES = ("dagster_defs.resources", "ml.models", "ml.training", "ml.tuning", "ml.warehouse.summary")


def prepare_dbt_manifest(dbt_vars: str) -> None:
    """``dbt parse`` (writes the manifest the code location loads), with the rest of the start beside it."""
    with parsed_into(target_dir()) as scratch:  # the manifest replaces the last one only once it is whole
        cmd = dbt_command("parse", "--quiet", target_path=scratch, dbt_vars=dbt_vars)
        with subprocess.Popen(cmd) as parse:
            warnings.filterwarnings("ignore")  # Dagster's beta/preview notices; the log file has the run's events
            for module in WARM_MODULES:
                importlib.import_module(module)
            from dagster_defs.resources import prepare_adapter

            with contextlib.suppress(Exception):  # the first dbt step then builds it and reports what is wrong
                prepare_adapter(dbt_vars)
        if parse.returncode:
            raise subprocess.CalledProcessError(parse.returncode, cmd)


def dagster_home() -> str:
    home = os.environ.get("DAGSTER_HOME") or str(settings.data_dir() / "dagster_home")
    os.makedirs(home, exist_ok=True)
    committed = settings.ROOT / "data" / "dagster_home" / "dagster.yaml"
    target = os.path.join(home, "dagster.yaml")
    if not os.path.exists(target) and committed.exists():
        shutil.copy(committed, target)
    return home


def run(
    select: str | None,
    dbt_vars: str,
    run_config: dict | None = None,
    changed_only: bool = False,
    processes: int = 1,
    daily: bool = False,
) -> int:
    warnings.filterwarnings("ignore")  # Dagster's beta/preview notices; the log file has the run's events
    import dagster as dg

    from dagster_defs.changes import changed_selection
    from dagster_defs.definitions import defs
    from dagster_defs.execution import execute
    from dagster_defs.jobs import MAIN_SELECTION, daily_run_config
    from dagster_defs.runs import fail_dead_runs, own_tags
    from dagster_defs.selection import SelectionError, resolve

    graph = defs.resolve_asset_graph()
    instance = dg.DagsterInstance.get()
    if changed_only:
        changes, keys = changed_selection(instance, graph)
        if not keys:
            print("nothing changed since the last materializations (run the main job first if nothing was built)")
            return 0
        print("changed: " + ", ".join(k.to_user_string() for k in changes), flush=True)
    elif select is None:
        keys = sorted(MAIN_SELECTION.resolve(graph), key=lambda k: k.to_user_string())
    else:
        try:
            keys = resolve(select, graph, instance)
        except SelectionError as exc:
            print(exc)
            return USAGE
    for dead in fail_dead_runs(instance):  # runs killed earlier would hold the UI's run queue
        print(f"run {dead[:8]} had been killed (its process is gone): marked failed", flush=True)
    run_id = str(uuid.uuid4())
    log_path = settings.data_dir() / "logs" / f"pipeline-{datetime.now():%Y%m%dT%H%M%S}-{run_id[:8]}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    print(f"materializing {len(keys)} assets (run {run_id[:8]}; full log: {log_path})", flush=True)
    with output_to(log_path) as terminal:  # dbt's and the libraries' own output goes to the log file
        checks = {key: graph.get_check_spec(key).description for key in graph.asset_check_keys}
        progress = TerminalReport(instance, run_id, len(keys), log_path, terminal, checks)
        progress.start()
        t0 = time.perf_counter()
        try:
            config = {
                "loggers": {"console": {"config": {"log_level": "CRITICAL"}}},
                "resources": {"recsys": {"config": {"dbt_vars": dbt_vars}}},
                "execution": {"config": {"processes": processes}},
            }
            if daily:
                config = merged(config, daily_run_config({k.to_python_identifier() for k in keys}))
            ok = execute(instance, run_id, keys, merged(config, run_config or {}), own_tags())
            stopped = False
        except dg.DagsterInvalidConfigError as exc:
            progress.stop.set()
            progress.join(timeout=10)
            progress.say(f"\n--config does not fit the selected assets: {exc}")
            return USAGE
        except KeyboardInterrupt:  # between steps
            ok, stopped = False, True
        progress.stop.set()
        progress.join(timeout=10)
        if stopped or progress.interrupted:
            where = f" in {progress.interrupted}" if progress.interrupted else ""
            progress.say(
                f"\ninterrupted: run {run_id[:8]} stopped{where}; published models stay valid; "
                "run recsys-pipeline again to finish"
            )
            return INTERRUPTED
    status = "succeeded" if ok else f"FAILED ({len(progress.failures)} step(s))"
    print(f"\nrun {run_id[:8]} {status} in {time.perf_counter() - t0:.0f}s; full log: {log_path}")
    if progress.skipped:
        print(f"skipped (the reason is on each one's line): {', '.join(progress.skipped)}")
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="recsys-pipeline", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--select",
        default=None,
        help="Dagster asset selection, e.g. '*' (everything, the feature ablation included) or "
        "'+evaluation/als'; default: the main job materialize_all",
    )
    parser.add_argument(
        "--changed",
        action="store_true",
        help="materialize what changed since the last materializations (a mart's SQL or a macro it calls, a declared "
        "feature, a model's code) and everything downstream: retraining, evaluations, the leaderboard, the feature verdict",
    )
    parser.add_argument(
        "--vars",
        default=os.environ.get("RECSYS_DBT_VARS", ""),
        help="dbt vars for this run, YAML or JSON, e.g. '{test_days: 14}' (default RECSYS_DBT_VARS)",
    )
    parser.add_argument(
        "--config",
        default="",
        help="Dagster run config for this run, YAML or JSON, as the launchpad takes it, e.g. "
        "'{ops: {tuning__als: {config: {n_trials: 5}}}}' (an asset's op is its key with '__' for '/')",
    )
    parser.add_argument(
        "--daily",
        action="store_true",
        help="the daily cycle: the tunings reuse their choice while their data has not drifted (PSI < 0.1, re-tuned "
        "weekly; the networks' and the two-stage ranker's are tuned every run), the click models continue from "
        "their last version (checked against a cold fit weekly); "
        "--config overrides it (dagster_defs/jobs.py)",
    )
    parser.add_argument(
        "--processes",
        default="auto",
        help="steps that run at once, each in a process of its own; 1: one after another in this process; "
        "default auto: the machine's cores / RECSYS_THREADS from 500,000 raw events on, else 1 (dagster_defs/execution.py)",
    )
    args = parser.parse_args(argv)
    run_config = parse_mapping("--config", args.config, "{ops: {tuning__als: {config: {n_trials: 5}}}}")
    try:
        require_supported_target()
    except RuntimeError as exc:
        raise SystemExit(f"recsys-pipeline: {exc}") from None
    dbt_vars = parse_vars(args.vars)
    # the run ends with os._exit (below); multiprocessing's tracker would then warn about a semaphore
    os.environ.setdefault("PYTHONWARNINGS", "ignore::UserWarning:multiprocessing.resource_tracker")
    absolute_environment()
    os.environ["DAGSTER_HOME"] = dagster_home()
    prepare_dbt_manifest(dbt_vars)
    from dagster_defs.execution import processes_for  # imports Dagster, which the parse above made ready

    processes = processes_for(args.processes, dbt_vars)
    with engine_server():
        try:
            code = run(args.select, dbt_vars, run_config, args.changed, processes, args.daily)
        except KeyboardInterrupt:  # Ctrl-C before the run started (loading the code location)
            print("\ninterrupted before the run started; nothing was changed")
            code = INTERRUPTED
        if code not in (INTERRUPTED, USAGE):
            try:
                print(closing_summary())
            except Exception as exc:  # the summary reads what is there; a failed run may have left little
                print(f"(no warehouse summary: {exc})")
    # skip interpreter teardown: DuckDB's bindings report spurious "nanobind: leaked" lines there
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
