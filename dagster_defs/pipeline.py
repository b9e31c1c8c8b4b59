"""``recsys-pipeline``: materialize the main job (or a selection) in this process and report progress.

Parses the dbt project (writes the manifest the code location loads), points DAGSTER_HOME at
``data/dagster_home`` unless it is set, and runs the selected assets with the in-process executor.
The terminal gets one line per materialized asset (n/total, name, seconds, a key figure) and a
summary at the end, also when the run fails; every event of the run goes to a log file under
``data/logs``. The run is recorded in the Dagster instance, so the UI shows it too.
"""

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import threading
import time
import uuid
import warnings
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import TextIO

import yaml

from ml import settings
from ml.summary import warehouse_summary

KEY_FIGURES = {
    "all/ndcg@10": "ndcg@10",
    "test_auc": "auc",
    "best_validation_auc": "validation auc",
    "train_interactions": "train interactions",
    "dagster/row_count": "rows",
    "rows_written": "rows written",
}


def absolute_environment() -> None:
    """dbt runs in dbt_project/: make every path setting absolute before it is inherited."""
    for var in ("RECSYS_DATA_DIR", "RECSYS_DUCKDB_PATH", "RECSYS_RAW_DIR"):
        if os.environ.get(var):
            os.environ[var] = str(Path(os.environ[var]).resolve())
    settings.warehouse_path().parent.mkdir(parents=True, exist_ok=True)


def prepare_dbt_manifest(dbt_vars: str) -> None:
    subprocess.run(settings.dbt_command("parse", "--quiet", *(["--vars", dbt_vars] if dbt_vars else [])), check=True)


def parse_vars(text: str) -> str:
    """Validate ``--vars`` (YAML or JSON, a mapping) and return it as JSON for dbt."""
    try:
        value = yaml.safe_load(text) if text.strip() else {}
    except yaml.YAMLError as exc:
        raise SystemExit(f"--vars is not valid YAML/JSON: {exc}") from None
    if not isinstance(value, dict):
        raise SystemExit(f"--vars must be a mapping such as '{{test_days: 14}}', got {text!r}")
    return json.dumps(value) if value else ""


def dagster_home() -> str:
    home = os.environ.get("DAGSTER_HOME") or str(settings.data_dir() / "dagster_home")
    os.makedirs(home, exist_ok=True)
    committed = settings.ROOT / "data" / "dagster_home" / "dagster.yaml"
    target = os.path.join(home, "dagster.yaml")
    if not os.path.exists(target) and committed.exists():
        shutil.copy(committed, target)
    return home


def key_figure(metadata: dict) -> str:
    for key, label in KEY_FIGURES.items():
        if key in metadata:
            value = metadata[key].value
            if isinstance(value, float):
                return f"{label} {value:.4f}"
            return f"{label} {value:,}" if isinstance(value, int) else f"{label} {value}"
    return ""


class Progress(threading.Thread):
    """Follows a run's events in the instance: a line per materialization and per failure on stdout,
    every event in the log file."""

    def __init__(self, instance, run_id: str, total: int, log_path: Path, out: TextIO) -> None:
        super().__init__(daemon=True)
        self.instance, self.run_id, self.total, self.log_path, self.out = instance, run_id, total, log_path, out
        self.done, self.stop = 0, threading.Event()
        self.failures: list[str] = []
        self.skipped: list[str] = []
        self.step_started: dict[str, float] = {}

    def run(self) -> None:
        cursor = None
        with self.log_path.open("a") as log:
            while True:
                stopping = self.stop.is_set()
                try:
                    conn = self.instance.get_records_for_run(self.run_id, cursor=cursor, limit=500)
                except Exception as exc:  # the run has not started yet, or storage is busy: try again
                    log.write(f"(progress: {exc})\n")
                    self.stop.wait(0.5)
                    continue
                for record in conn.records:
                    try:
                        self.handle(record.event_log_entry, log)
                    except Exception as exc:  # never let one odd event stop the report
                        log.write(f"(progress: could not report an event: {exc!r})\n")
                log.flush()
                cursor = conn.cursor or cursor
                if stopping and not conn.has_more:
                    return
                if not conn.has_more:
                    self.stop.wait(0.5)

    def handle(self, entry, log) -> None:
        stamp = datetime.fromtimestamp(entry.timestamp).strftime("%H:%M:%S")
        log.write(
            f"{stamp} {entry.level if isinstance(entry.level, str) else entry.level} "
            f"{entry.step_key or '-'} {entry.message or entry.user_message}\n"
        )
        event = entry.dagster_event
        if event is None:
            return
        if event.event_type_value == "STEP_START":
            self.step_started[event.step_key] = entry.timestamp
        elif event.event_type_value == "ASSET_MATERIALIZATION":
            mat = event.event_specific_data.materialization
            metadata = dict(mat.metadata)
            self.done += 1
            # dbt models report their own execution time; a Python asset is its step
            seconds = (
                metadata["Execution Duration"].value
                if "Execution Duration" in metadata
                else entry.timestamp - self.step_started.get(event.step_key, entry.timestamp)
            )
            if "skipped" in metadata:  # materialized empty: say why
                self.skipped.append(mat.asset_key.to_user_string())
                figure = f"skipped: {metadata['skipped'].value}"
            else:
                figure = key_figure(metadata)
            self.say(f"[{self.done:>3}/{self.total}] {mat.asset_key.to_user_string():<46} {seconds:6.1f}s  {figure}")
        elif event.event_type_value == "STEP_FAILURE":
            error = event.event_specific_data.error
            while error is not None and error.cause is not None:  # the root cause says what to fix
                error = error.cause
            message = (error.message if error else "failed").strip().splitlines()[-1][:300]
            self.failures.append(f"{event.step_key}: {message}")
            self.say(f"FAILED {event.step_key}: {message}")
        elif event.event_type_value == "STEP_SKIPPED":
            self.skipped.append(event.step_key)
            self.say(f"skipped step {event.step_key}: an upstream output was not produced")
        elif event.event_type_value == "ASSET_CHECK_EVALUATION":
            check = event.event_specific_data
            if not check.passed:
                self.say(f"check failed: {check.asset_key.to_user_string()} {check.check_name}")

    def say(self, line: str) -> None:
        print(line, file=self.out, flush=True)


def run(select: str | None, dbt_vars: str) -> int:
    warnings.filterwarnings("ignore")  # Dagster's beta/preview notices; the log file has the run's events
    import dagster as dg

    from dagster_defs.definitions import defs
    from dagster_defs.jobs import MAIN_SELECTION

    graph = defs.resolve_asset_graph()
    selection = MAIN_SELECTION if select is None else dg.AssetSelection.from_string(select)
    keys = sorted(selection.resolve(graph), key=lambda k: k.to_user_string())
    instance = dg.DagsterInstance.get()
    run_id = str(uuid.uuid4())
    log_path = settings.data_dir() / "logs" / f"pipeline-{datetime.now():%Y%m%dT%H%M%S}-{run_id[:8]}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    print(f"materializing {len(keys)} assets (run {run_id[:8]}; full log: {log_path})", flush=True)
    with output_to(log_path) as terminal:  # dbt's and the libraries' own output goes to the log file
        progress = Progress(instance, run_id, len(keys), log_path, terminal)
        progress.start()
        t0 = time.perf_counter()
        try:
            result = defs.resolve_implicit_global_asset_job_def().execute_in_process(
                instance=instance,
                asset_selection=keys,
                run_id=run_id,
                raise_on_error=False,
                run_config={
                    "loggers": {"console": {"config": {"log_level": "CRITICAL"}}},
                    "resources": {"recsys": {"config": {"dbt_vars": dbt_vars}}},
                },
            )
            ok = result.success
        except KeyboardInterrupt:
            progress.stop.set()
            progress.join(timeout=5)
            progress.say(
                f"\ninterrupted: run {run_id[:8]} stopped; published artifacts stay valid; run recsys-pipeline again to finish"
            )
            return 130
        progress.stop.set()
        progress.join()
    status = "succeeded" if ok else f"FAILED ({len(progress.failures)} step(s))"
    print(f"\nrun {run_id[:8]} {status} in {time.perf_counter() - t0:.0f}s; full log: {log_path}")
    if progress.skipped:
        print(f"skipped (the reason is on each one's line): {', '.join(progress.skipped)}")
    return 0 if ok else 1


@contextlib.contextmanager
def output_to(path: Path) -> Iterator[TextIO]:
    """Send file descriptors 1 and 2 (this process's and its subprocesses' output) to ``path``; yields
    a stream to the original terminal."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    terminal = os.fdopen(os.dup(saved[0]), "w", buffering=1)
    with path.open("a") as sink:
        os.dup2(sink.fileno(), 1)
        os.dup2(sink.fileno(), 2)
        try:
            yield terminal
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)
            terminal.close()


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
        "--vars",
        default=os.environ.get("RECSYS_DBT_VARS", ""),
        help="dbt vars for this run, YAML or JSON, e.g. '{test_days: 14}' (default RECSYS_DBT_VARS)",
    )
    args = parser.parse_args(argv)
    dbt_vars = parse_vars(args.vars)
    # the run ends with os._exit (below); multiprocessing's tracker would then warn about a semaphore
    os.environ.setdefault("PYTHONWARNINGS", "ignore::UserWarning:multiprocessing.resource_tracker")
    absolute_environment()
    prepare_dbt_manifest(dbt_vars)
    os.environ["DAGSTER_HOME"] = dagster_home()
    code = run(args.select, dbt_vars)
    try:
        print(warehouse_summary())
    except Exception as exc:  # the summary reads what is there; a failed run may have left little
        print(f"(no warehouse summary: {exc})")
    # skip interpreter teardown: DuckDB's bindings report spurious "nanobind: leaked" lines there
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
