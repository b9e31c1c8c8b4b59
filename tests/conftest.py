import contextlib
import functools
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from filelock import FileLock

from dagster_defs.dbt_cli import dbt_command
from ml import settings
from ml.interactions import InteractionData
from ml.recommenders import Scorer
from ml.warehouse import connection as warehouse


def pytest_configure(config) -> None:
    """Parse the dbt project as the sample configures it (seeds on) before tests import the code
    location: the manifest under dbt_project/target is whatever the last parse saw. With xdist the
    controller parses once, before its workers start; every pipeline a test runs parses into its own
    target (DBT_TARGET_PATH, ``isolated_env``), so runs on raw files or other engines leave it alone.

    The workers (one per core) split the cores between their pipelines' steps (RECSYS_THREADS = cores /
    workers), so that two steps at once do not oversubscribe them (bench/threads.py); tests/test_threads.py
    checks the default itself."""
    worker = hasattr(config, "workerinput")
    if not worker:
        env = {k: v for k, v in os.environ.items() if k not in ("RECSYS_RAW_DIR", "RECSYS_DBT_VARS", "DBT_TARGET_PATH")}
        subprocess.run(dbt_command("parse", "--quiet"), env=env, check=True)
    # apps built in-process log what they serve to a file of this process, not under the repository's data/
    os.environ.setdefault("RECSYS_LIVE_LOG", str(Path(tempfile.mkdtemp(prefix="recsys-live-")) / "live.sqlite"))
    if worker or not config.getoption("numprocesses", None):
        workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
        os.environ.setdefault("RECSYS_THREADS", str(max(1, (os.cpu_count() or 1) // workers)))


def pytest_xdist_auto_num_workers(config) -> int:
    """``-n auto``: a worker per logical core (xdist would count physical cores where psutil is)."""
    return os.cpu_count() or 1


def run_dbt(
    args: list[str],
    warehouse: Path,
    raw_dir: Path | None = None,
    raw_format: str = "parquet",
    check: bool = True,
    extra_env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess:
    """Run dbt on the project against ``warehouse`` (or the target ``extra_env`` names, e.g. a PostgreSQL
    server's), optionally reading raw files instead of seeds: then ``recsys-load-raw`` loads them first,
    as the pipeline's raw step does (a file it refuses: its process, with the message in stdout)."""
    env = {**os.environ, "RECSYS_DUCKDB_PATH": str(warehouse), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", **(extra_env or {})}
    env.pop("RECSYS_RAW_DIR", None)
    if raw_dir is not None:
        env["RECSYS_RAW_DIR"] = str(raw_dir)
        env["RECSYS_RAW_FORMAT"] = raw_format
        load = subprocess.run([str(BIN / "recsys-load-raw"), str(raw_dir)], env=env, capture_output=True, text=True)
        if load.returncode != 0:
            load = subprocess.CompletedProcess(load.args, load.returncode, load.stdout + load.stderr, load.stderr)
            if check:
                raise AssertionError(f"recsys-load-raw failed:\n{load.stdout[-4000:]}")
            return load
    cmd = dbt_command(*args, target_path=warehouse.parent / "dbt_target", log_path=warehouse.parent / "dbt_logs")
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"dbt {' '.join(args)} failed:\n{proc.stdout[-6000:]}\n{proc.stderr[-2000:]}")
    return proc


BIN = Path(sys.executable).parent


@pytest.fixture(scope="session")
def sample_warehouse(tmp_path_factory) -> Path:
    """The committed sample built by `dbt build` (all data tests and unit tests must pass; the
    leaderboard over an empty evaluation table)."""
    path = tmp_path_factory.mktemp("sample") / "warehouse.duckdb"
    run_dbt(["build"], path)
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_service(env: dict, timeout_s: float = 60):
    """Start the real service with uvicorn on a free loopback port; yields its base URL."""
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "service.app:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        cwd=settings.ROOT,
        env={k: v for k, v in env.items() if k != "RECSYS_LIVE_LOG"},  # its own, under its RECSYS_DATA_DIR
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                if httpx.get(f"{url}/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("the service did not become healthy")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


class FixedScorer(Scorer):
    """A scorer whose scores are given: lets the protocol be checked by hand."""

    name = "fixed"

    def __init__(self, scores) -> None:
        self.scores = np.asarray(scores, dtype=np.float32)
        self.n_users, self.n_items = self.scores.shape

    def score_users(self, user_indices):
        return self.scores[user_indices]


ROOT = Path(__file__).resolve().parents[1]


def isolated_env(base: Path) -> dict[str, str]:
    """The environment of a run whose warehouse, artifacts and Dagster instance live under ``base``."""
    env = {
        **os.environ,
        "RECSYS_DATA_DIR": str(base / "data"),
        "DAGSTER_HOME": str(base / "dagster_home"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_TARGET_PATH": str(base / "dbt_target"),  # its own manifest (the default one is the sample's)
    }
    for var in ("RECSYS_DUCKDB_PATH", "RECSYS_RAW_DIR", "RECSYS_LIVE_LOG"):
        env.pop(var, None)
    return env


def pipeline(env: dict, *args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "dagster_defs.pipeline", *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture(scope="session")
def pipeline_env(tmp_path_factory, worker_id):
    """The main job materialized once on the sample (DuckDB) for the whole session: the first xdist
    worker that needs it runs it (the others wait on a file lock) and every worker shares it. Its env,
    base dir, stdout and leaderboard as the run left it (tests that run more on it change the warehouse,
    never these)."""
    shared = tmp_path_factory.getbasetemp() if worker_id == "master" else tmp_path_factory.getbasetemp().parent
    base = shared / "pipeline"
    env = {**isolated_env(base), "MLFLOW_TRACKING_URI": f"sqlite:///{base}/mlflow.db"}  # optional tracking, on here
    with FileLock(str(shared / "pipeline.lock")):
        if not (base / "stdout.txt").exists():
            proc = pipeline(env, timeout=900)
            assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
            board = warehouse.query_df("select * from marts.leaderboard order by model", base / "data" / "warehouse.duckdb")
            board.to_parquet(base / "leaderboard.parquet")
            for part in ("data", "dagster_home"):  # as the run left them, for tests that run more on a copy
                shutil.copytree(base / part, base / "snapshot" / part, symlinks=True, ignore=shutil.ignore_patterns("logs"))
            (base / "stdout.txt").write_text(proc.stdout)
    return env, base, (base / "stdout.txt").read_text(), pd.read_parquet(base / "leaderboard.parquet")


# leaderboard columns measured by a run (not its identity or its comparison with an earlier run)
RUN_INDEPENDENT = [
    "ndcg_at_10",
    "recall_at_10",
    "map_at_10",
    "coverage_at_10",
    "ndcg_at_10_ci_low",
    "ndcg_at_10_ci_high",
    "ndcg_lift_vs_popularity",
    "p_vs_popularity",
    "cold_users_ndcg_at_10",
    "ctr_auc",
    "ctr_log_loss",
]


@functools.cache
def declared() -> dict:
    """The features the marts' yml declare (``ml.warehouse.declarations``), from the manifest the
    session parsed."""
    from ml.warehouse.declarations import feature_sets

    return feature_sets()


def tiny_data(seed: int = 0) -> InteractionData:
    X = sp.random(40, 30, density=0.3, random_state=seed, format="csr", dtype=np.float32)
    items = pd.DataFrame({"item_id": np.arange(1, 31), "category": "c", "title": "t", "brand": None, "price": 1.0})
    items["released_at"] = pd.Timestamp("2024-01-01")
    return InteractionData(train=X, test=X, users=pd.DataFrame({"user_id": np.arange(1, 41)}), items=items)
