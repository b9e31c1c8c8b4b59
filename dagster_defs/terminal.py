"""The main job's terminal output: a line per materialized asset (n/total, name, seconds, a key figure
or the reason it was skipped), failures with their root cause; every event of the run in a log file."""

import contextlib
import os
import sys
import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import TextIO

from ml.errors import root_message

KEY_FIGURES = {
    "all/ndcg@10": "ndcg@10",
    "test_auc": "auc",
    "best_validation_auc": "validation auc",
    "train_interactions": "train interactions",
    "dagster/row_count": "rows",
    "rows_written": "rows written",
}


def key_figure(metadata: dict) -> str:
    for key, label in KEY_FIGURES.items():
        if key in metadata:
            value = metadata[key].value
            if isinstance(value, float):
                return f"{label} {value:.4f}"
            return f"{label} {value:,}" if isinstance(value, int) else f"{label} {value}"
    return ""


class TerminalReport(threading.Thread):
    """Follows a run's events in the instance: a line per materialization and per failure on stdout,
    every event in the log file."""

    def __init__(self, instance, run_id: str, total: int, log_path: Path, out: TextIO, checks: dict | None = None) -> None:
        """``checks``: each asset check's description (what a failed check prints when its evaluation has none)."""
        super().__init__(daemon=True)
        self.instance, self.run_id, self.total, self.log_path, self.out = instance, run_id, total, log_path, out
        self.checks = checks or {}
        self.done, self.stop = 0, threading.Event()
        self.failures: list[str] = []
        self.skipped: list[str] = []
        self.interrupted: str | None = None  # the step Ctrl-C stopped
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
            if interrupted(error):  # Ctrl-C: one line at the end, not a failure
                self.interrupted = event.step_key
                return
            while error is not None and error.cause is not None:  # the root cause says what to fix
                error = error.cause
            message = root_message(error.message if error else "failed")
            self.failures.append(f"{event.step_key}: {message}")
            self.say(f"FAILED {event.step_key}: {message}")
        elif event.event_type_value == "STEP_SKIPPED":
            self.skipped.append(event.step_key)
            self.say(f"skipped step {event.step_key}: an upstream output was not produced")
        elif event.event_type_value == "ASSET_CHECK_EVALUATION":
            check = event.event_specific_data
            if not check.passed:
                description = check.description or self.checks.get(check.asset_check_key)  # e.g. the column at fault
                said = f": {description}" if description else ""
                outcome = "warned" if check.severity.value == "WARN" else "failed"
                self.say(f"check {outcome}: {check.asset_key.to_user_string()} {check.check_name}{said}")

    def say(self, line: str) -> None:
        print(line, file=self.out, flush=True)


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


def interrupted(error) -> bool:
    """Whether a step's error is Ctrl-C (Dagster turns SIGINT into an interruption of the step)."""
    while error is not None:
        if error.cls_name in ("DagsterExecutionInterruptedError", "KeyboardInterrupt"):
            return True
        error = error.cause
    return False


def closing_summary() -> str:
    """What landed in the warehouse, then how old each served model's data is."""
    from dagster_defs.freshness import current_staleness
    from ml import models, settings
    from ml.serving import freshness
    from ml.warehouse.summary import warehouse_summary

    found = current_staleness(settings.artifacts_dir(), models.SERVED)
    return "\n".join([warehouse_summary(), *freshness.summary_lines(found)])
