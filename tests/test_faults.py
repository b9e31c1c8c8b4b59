"""A run killed at any step (during dbt, while training, while evaluating) leaves the warehouse readable
and every published model loadable, is found dead and marked failed so the run queue moves on, and
the next run completes."""

import os
import signal
import subprocess
import sys
import time

import dagster as dg

from dagster_defs.runs import MonitoredRunLauncher, WorkerStatus
from ml import warehouse
from ml.catalog import load_model
from tests.conftest import ROOT, isolated_env, pipeline

SELECTION = "*evaluation/als"  # dbt, tuning, training and evaluation, in a fraction of the main job
QUICK = "{ops: {tuning__als: {config: {n_trials: 3}}}}"  # a short tuning where its length does not matter
# where to kill: the first stdout line that contains the marker, then `delay_s` later
KILL_POINTS = [
    ("during the dbt build", "materializing", 4.0),  # dbt's first models are being written
    ("while training ALS", "] tuning/als", 0.0),  # tuning is done: the next step trains and publishes
    ("while evaluating ALS", "] models/als", 0.0),  # the model is published: the next step evaluates
]


def start_pipeline(env: dict, stderr: int, *args: str) -> subprocess.Popen:
    """recsys-pipeline on SELECTION in its own process group (a signal reaches dbt too, as from a terminal)."""
    return subprocess.Popen(
        [sys.executable, "-m", "dagster_defs.pipeline", "--select", SELECTION, *args],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
        start_new_session=True,
    )


def start_and_kill(env: dict, marker: str, delay_s: float) -> str:
    """Start recsys-pipeline, SIGKILL its whole process group (dbt included) once ``marker`` shows."""
    proc = start_pipeline(env, subprocess.STDOUT, "--config", QUICK)
    seen = []
    deadline = time.monotonic() + 600
    for line in proc.stdout:
        seen.append(line)
        if marker in line or time.monotonic() > deadline:
            break
    time.sleep(delay_s)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    assert any(marker in line for line in seen), "".join(seen)[-3000:]
    return "".join(seen)


def test_a_run_killed_at_any_step_recovers(tmp_path):
    env = isolated_env(tmp_path)
    data = tmp_path / "data"
    killed_runs = []
    for point, marker, delay_s in KILL_POINTS:
        out = start_and_kill(env, marker, delay_s)
        run_id_prefix = out.split("(run ")[1][:8]
        killed_runs.append(run_id_prefix)
        # the warehouse opens and answers; every `latest` model loads
        wh = data / "warehouse.duckdb"
        if wh.exists():
            assert warehouse.query_df("select count(*) n from information_schema.tables", wh)["n"][0] >= 0
        for latest in (data / "models").glob("*/latest"):
            load_model(latest)
        # the run is still STARTED in the instance, and the monitored launcher finds its process gone
        os.environ["DAGSTER_HOME"] = env["DAGSTER_HOME"]
        with dg.DagsterInstance.get() as instance:
            run = next(r for r in instance.get_runs() if r.run_id.startswith(run_id_prefix))
            assert run.status == dg.DagsterRunStatus.STARTED, point
            launcher = MonitoredRunLauncher()
            launcher.register_instance(instance)
            assert launcher.check_run_worker_health(run).status == WorkerStatus.FAILED, point
        del os.environ["DAGSTER_HOME"]
    # each run marks the dead ones before it failed; the last one completes
    proc = pipeline(env, "--select", SELECTION, "--config", QUICK)
    assert proc.returncode == 0, proc.stdout[-4000:]
    run_log = next((data / "logs").glob(f"pipeline-*-{proc.stdout.split('(run ')[1][:8]}.log"))
    assert "tuning als trial 1/3" in run_log.read_text()  # --config reached the tuning asset
    assert f"run {killed_runs[-1]} had been killed (its process is gone): marked failed" in proc.stdout
    os.environ["DAGSTER_HOME"] = env["DAGSTER_HOME"]
    try:
        with dg.DagsterInstance.get() as instance:
            statuses = {r.run_id[:8]: r.status for r in instance.get_runs()}
    finally:
        del os.environ["DAGSTER_HOME"]
    assert all(statuses[run] == dg.DagsterRunStatus.FAILURE for run in killed_runs), statuses
    evaluated = warehouse.query_df("select count(distinct run_id) n from evaluation.als", data / "warehouse.duckdb")
    assert evaluated["n"][0] >= 1
    for latest in (data / "models").glob("*/latest"):
        load_model(latest)


def test_ctrl_c_stops_the_run_with_one_line(tmp_path):
    env = isolated_env(tmp_path)
    proc = start_pipeline(env, stderr=subprocess.PIPE)
    for line in proc.stdout:
        if "] models/popularity" in line:  # ALS's tuning, a long step, has started
            break
    time.sleep(3)
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C sends to the terminal's foreground group
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, out[-2000:] + err[-2000:]
    tail = out.strip().splitlines()
    assert tail[-1].startswith("interrupted: run ") and "stopped in tuning__als" in tail[-1], out[-2000:]
    assert "Traceback" not in out + err and "FAILED" not in out and "Dagster" not in out + err
