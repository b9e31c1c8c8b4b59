"""A run killed at any step (during dbt, while training, while evaluating) leaves the warehouse readable
and every published model loadable, is found dead and marked failed so the run queue moves on, and
the next run completes."""

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import dagster as dg

from dagster_defs.runs import MonitoredRunLauncher, WorkerStatus
from ml.models import load_model
from ml.warehouse import connection as warehouse
from tests.conftest import ROOT, isolated_env, pipeline

SELECTION = "*evaluation/als"  # dbt, tuning, training and evaluation, in a fraction of the main job
QUICK = "{ops: {tuning__als: {config: {n_trials: 3}}}}"  # a short tuning where its length does not matter
ALL = ("--select", SELECTION, "--config", QUICK)
# the steps after dbt, on the marts (and tuning) an earlier run left
TRAIN = 'key:"models/popularity" or key:"models/als" or key:"evaluation/als"'
# where to kill: `delay_s` after the run's log (data/logs) shows the marker, or where the run reaches a
# held function (tests/hold.py): training and evaluating ALS on the sample take less time than a
# progress line takes to arrive, and a busy machine can take seconds to start a run
DBT_STARTED = 'Started execution of step "dbt_feature_layer"'  # the feature layer builds for 20 s or more
KILL_POINTS = [
    ("during the dbt build", ALL, DBT_STARTED, 3.0, None),
    # dbt again (the first run died in it), tuning, then ALS's params written and its arrays not
    ("while publishing ALS", ALL, None, 0.0, "ml.recommenders.base:write_arrays=/als/"),
    # ALS trained with the tuning the last run stored; its metrics stored, its per-user metrics not
    ("while evaluating ALS", ("--select", TRAIN), None, 0.0, "ml.warehouse.evaluation_store:write_user_results=als"),
]


def start_pipeline(env: dict, stderr: int, args: tuple[str, ...], hold: tuple[str, Path] | None = None) -> subprocess.Popen:
    """recsys-pipeline in its own process group (a signal reaches dbt too, as from a terminal); with
    ``hold`` (target, flag file), through tests/hold.py."""
    module = ["tests.hold", hold[0], str(hold[1])] if hold else ["dagster_defs.pipeline"]
    return subprocess.Popen(
        [sys.executable, "-m", *module, *args],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
        start_new_session=True,
    )


def wait_for(proc: subprocess.Popen, reached: Callable[[], bool]) -> list[str]:
    """The stdout lines read until ``reached()`` (or the run ends, or 600 s pass)."""
    seen: list[str] = []
    stdout = proc.stdout
    assert stdout is not None
    reader = threading.Thread(target=lambda: seen.extend(stdout), daemon=True)
    reader.start()
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and proc.poll() is None and not reached():
        time.sleep(0.05)
    return seen


def in_run_log(logs: Path, marker: str) -> bool:
    return any(marker in log.read_text() for log in logs.glob("pipeline-*.log"))


def start_and_kill(env: dict, args: tuple[str, ...], marker: str | None, delay_s: float, held: str | None, flag: Path) -> str:
    """Start recsys-pipeline, SIGKILL its whole process group (dbt included) ``delay_s`` after its log
    shows ``marker``, or where it reaches the ``held`` function."""
    flag.unlink(missing_ok=True)
    logs = Path(env["RECSYS_DATA_DIR"]) / "logs"  # a marker is looked for in the first run only
    proc = start_pipeline(env, subprocess.STDOUT, args, hold=(held, flag) if held else None)
    reached = flag.exists if held else lambda: in_run_log(logs, marker or "")
    seen = wait_for(proc, reached)
    time.sleep(delay_s)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    out = "".join(seen)
    assert reached() and proc.returncode == -signal.SIGKILL, out[-3000:]
    return out


def test_a_run_killed_at_any_step_recovers(tmp_path):
    env = isolated_env(tmp_path)
    data = tmp_path / "data"
    killed_runs = []
    for point, args, marker, delay_s, held in KILL_POINTS:
        out = start_and_kill(env, args, marker, delay_s, held, tmp_path / "held")
        run_id_prefix = out.split("(run ")[1][:8]
        killed_runs.append(run_id_prefix)
        # the warehouse opens and every table in it reads to the end; every `latest` model loads
        wh = data / "warehouse.duckdb"
        if wh.exists():
            tables = warehouse.query_df("select table_schema || '.' || table_name as t from information_schema.tables", wh)["t"]
            assert len(tables) > 0, point  # the raw tables were loaded before any kill point
            for table in tables:  # a half-written table would raise here
                warehouse.query_df(f"select * from {table}", wh)
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
    proc = pipeline(env, "--select", f'key:"tuning/als" or {TRAIN}', "--config", QUICK)
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
    evaluated = warehouse.query_df(
        "select count(distinct run_id) n from evaluation.results where model = 'als'", data / "warehouse.duckdb"
    )
    assert evaluated["n"][0] >= 1
    for latest in (data / "models").glob("*/latest"):
        load_model(latest)


def test_ctrl_c_stops_the_run_with_one_line(tmp_path, sample_warehouse):
    env = isolated_env(tmp_path)
    (tmp_path / "data").mkdir()
    shutil.copy(sample_warehouse, tmp_path / "data" / "warehouse.duckdb")  # the marts, as dbt built them
    flag = tmp_path / "held"
    proc = start_pipeline(env, subprocess.PIPE, ("--select", "tuning/als"), hold=("ml.tuning:tune_recommender=als", flag))
    while not flag.exists() and proc.poll() is None:  # ALS's tuning has started
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C sends to the terminal's foreground group
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, out[-2000:] + err[-2000:]
    tail = out.strip().splitlines()
    assert tail[-1].startswith("interrupted: run ") and "stopped in tuning__als" in tail[-1], out[-2000:]
    assert "Traceback" not in out + err and "FAILED" not in out and "Dagster" not in out + err
