"""Runs whose process is gone are failed, so that the run queue moves on.

A run whose process is killed (kill -9, an out-of-memory kill, a closed laptop) stays STARTED in the
Dagster instance for ever, and with ``run_queue.max_concurrent_runs: 1`` every later run from the UI
waits behind it. Dagster's run monitoring (``run_monitoring`` in ``data/dagster_home/dagster.yaml``,
done by the daemon that ``dagster dev`` starts) fails such a run when the run launcher can check its
worker, which the default launcher cannot: ``MonitoredRunLauncher`` adds that check. The process of a
run is read from the run's tags (``recsys-pipeline`` sets them) or from the engine event in which the
run worker reported its pid. ``recsys-pipeline`` also fails the dead runs of this machine when it
starts, for users who run no daemon.
"""

import os
import socket
from pathlib import Path

import dagster as dg

# the run launcher's health-check interface (what run monitoring calls) has its result types only in
# dagster._core.launcher: Dagster's docs point custom launchers there, and no public module exports them
from dagster._core.launcher import CheckRunHealthResult, WorkerStatus

PID_TAG = "recsys/pid"
HOST_TAG = "recsys/host"
START_TAG = "recsys/process_start"  # the process's start time in clock ticks (/proc): a reused pid differs
S = dg.DagsterRunStatus
IN_PROGRESS = [S.STARTING, S.STARTED, S.CANCELING, S.SUSPENDED]  # a run whose process should be alive


def process_start(pid: int) -> str | None:
    """The start time of a live process (field 22 of /proc/<pid>/stat), None when there is no such
    process or it is a zombie (killed, not yet reaped)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (command) "
    return None if fields[0] in ("Z", "X") else fields[19]


def own_tags() -> dict[str, str]:
    """Tags that identify this process as a run's worker."""
    return {PID_TAG: str(os.getpid()), HOST_TAG: socket.gethostname(), START_TAG: process_start(os.getpid()) or ""}


def worker_pid(instance: dg.DagsterInstance, run: dg.DagsterRun) -> int | None:
    if PID_TAG in run.tags:
        return int(run.tags[PID_TAG])
    records = instance.get_records_for_run(run.run_id, of_type=dg.DagsterEventType.ENGINE_EVENT, limit=20).records
    for record in records:
        event = record.event_log_entry.dagster_event
        data = event.engine_event_data if event else None
        pid = data.metadata.get("pid") if data else None
        if pid is not None:
            return int(str(pid.value))
    return None


def worker_status(instance: dg.DagsterInstance, run: dg.DagsterRun) -> CheckRunHealthResult:
    if run.tags.get(HOST_TAG, socket.gethostname()) != socket.gethostname():
        return CheckRunHealthResult(WorkerStatus.UNKNOWN, f"the run's process is on {run.tags[HOST_TAG]}")
    pid = worker_pid(instance, run)
    if pid is None:
        return CheckRunHealthResult(WorkerStatus.UNKNOWN, "the run's process id is not known")
    started = process_start(pid)
    if started is None or (run.tags.get(START_TAG) and started != run.tags[START_TAG]):
        return CheckRunHealthResult(WorkerStatus.FAILED, f"the run's process {pid} is gone (killed or crashed)")
    return CheckRunHealthResult(WorkerStatus.RUNNING)


class MonitoredRunLauncher(dg.DefaultRunLauncher):
    """Dagster's default launcher (a subprocess per run) whose run monitoring can tell a dead run."""

    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def check_run_worker_health(self, run: dg.DagsterRun) -> CheckRunHealthResult:
        return worker_status(self._instance, run)


def fail_dead_runs(instance: dg.DagsterInstance) -> list[str]:
    """Mark the in-progress runs of this machine whose process is gone as failed; their ids."""
    failed = []
    for record in instance.get_run_records(filters=dg.RunsFilter(statuses=IN_PROGRESS)):
        run = record.dagster_run
        health = worker_status(instance, run)
        if health.status == WorkerStatus.FAILED:
            instance.report_run_failed(run, f"{health.msg}; marked failed so that later runs can start")
            failed.append(run.run_id)
    return failed
