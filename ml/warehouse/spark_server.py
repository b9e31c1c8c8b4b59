"""Spark for the whole graph (``RECSYS_DBT_TARGET=spark``): one Spark Connect server that dbt and the
Python assets share.

A local Spark keeps its table catalogue in an embedded Derby metastore that only one JVM may open, so
dbt (a subprocess) and the Python assets cannot each start their own Spark. They both talk to one
Spark Connect server instead (``SPARK_REMOTE=sc://host:port``): dbt-spark's session method becomes a
Connect client when ``SPARK_REMOTE`` is set, and the Python side reads results as Arrow through it.
On a cluster that server is the cluster's; here ``recsys-spark-server`` (or ``recsys-pipeline``, when
``SPARK_REMOTE`` is not set) starts one on this machine with its tables under ``RECSYS_SPARK_DIR``.

    pip install -e ".[spark]"          # pyspark with the Connect client, dbt-spark; and Java 17
    recsys-spark-server                # prints the SPARK_REMOTE to export; Ctrl-C stops it
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ml import settings

START_TIMEOUT_S = 180.0
STOP_GRACE_S = 10  # after SIGTERM, then SIGKILL: nothing runs on the server when it is stopped
READY_LINE = "Spark Connect server started"


def spark_dir() -> Path:
    """Where a local Spark keeps its tables and metastore: ``RECSYS_SPARK_DIR``, else ``<data>/spark``."""
    return Path(os.environ.get("RECSYS_SPARK_DIR", settings.data_dir() / "spark")).resolve()


def remote() -> str:
    return os.environ.get("SPARK_REMOTE", "")


def server_conf(directory: Path) -> dict[str, str]:
    """A local server's settings, the same as the dbt profile's in-process ones (profiles.yml)."""
    return {
        "spark.sql.catalogImplementation": "hive",
        "spark.sql.warehouse.dir": str(directory / "warehouse"),
        "spark.driver.extraJavaOptions": f"-Dderby.system.home={directory / 'metastore'}",
        "spark.sql.shuffle.partitions": "4",
        "spark.sql.session.timeZone": "UTC",
        "spark.ui.enabled": "false",
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_command(directory: Path, port: int, memory: str) -> list[str]:
    from pyspark.find_spark_home import _find_spark_home  # pip install -e ".[spark]"

    conf = {**server_conf(directory), "spark.connect.grpc.binding.port": str(port)}
    command = [str(Path(_find_spark_home()) / "bin" / "spark-submit"), "--driver-memory", memory]
    for key, value in conf.items():
        command += ["--conf", f"{key}={value}"]
    return [*command, "--class", "org.apache.spark.sql.connect.service.SparkConnectServer", "spark-internal"]


@contextlib.contextmanager
def local_server(directory: Path | None = None, port: int | None = None, memory: str = "4g") -> Iterator[str]:
    """Run a Spark Connect server on this machine while the block runs; yields its ``sc://`` address.
    Its log is ``<directory>/server.log``."""
    directory = directory or spark_dir()
    directory.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    log_path = directory / "server.log"
    env = {**os.environ, "SPARK_LOCAL_IP": os.environ.get("SPARK_LOCAL_IP", "127.0.0.1")}
    env.pop("SPARK_REMOTE", None)
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            server_command(directory, port, memory), stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while READY_LINE not in log_path.read_text(errors="replace"):
            if proc.poll() is not None or time.monotonic() > deadline:
                tail = log_path.read_text(errors="replace")[-3000:]
                raise RuntimeError(
                    f"the Spark Connect server did not start (is Java 17 installed? apt-get install "
                    f"openjdk-17-jre-headless); its log {log_path} ends:\n{tail}"
                )
            time.sleep(0.5)
        yield f"sc://127.0.0.1:{port}"
    finally:
        close_session()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:  # the JVM's shutdown hooks can hang past a minute (the suite's teardown waited 60 s for them)
            proc.wait(timeout=STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


# dbt-spark asks every Connect session for Hive support, which a server fixes at start: Spark warns
# on each statement that it cannot change it. Child processes inherit the filter.
QUIET = "ignore:Failed to set spark.sql.catalogImplementation:UserWarning"


@contextlib.contextmanager
def server_for_run() -> Iterator[None]:
    """``SPARK_REMOTE`` for the block: the given one, else a local server for the block's duration."""
    os.environ["PYTHONWARNINGS"] = ",".join(w for w in (os.environ.get("PYTHONWARNINGS"), QUIET) if w)
    if remote():
        yield
        return
    with local_server() as address:
        os.environ["SPARK_REMOTE"] = address
        try:
            yield
        finally:
            os.environ.pop("SPARK_REMOTE", None)


def session() -> Any:
    """The Spark Connect session of ``SPARK_REMOTE`` (one per process, reused)."""
    if not remote():
        raise RuntimeError(
            "RECSYS_DBT_TARGET=spark: the Python side reads Spark through a Spark Connect server; start one "
            "with `recsys-spark-server` and export the SPARK_REMOTE it prints (recsys-pipeline starts its own)"
        )
    # pyspark 4 has not certified pandas 3; what this project sends and receives travels as Arrow
    warnings.filterwarnings("ignore", "PySpark does not yet fully support pandas", FutureWarning)
    from pyspark.sql import SparkSession

    return SparkSession.builder.remote(remote()).getOrCreate()


def close_session() -> None:
    """Close this process's Connect session while its server is still up: at interpreter exit an open
    client calls its server, and retries for minutes when the server has gone."""
    if "pyspark.sql.connect.session" not in sys.modules:
        return
    from pyspark.sql.connect.session import SparkSession

    current = SparkSession.getActiveSession() or SparkSession._get_default_session()  # this thread's, else the process's
    if current is not None:
        current.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="recsys-spark-server", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--port", type=int, default=15002)
    parser.add_argument("--memory", default="4g", help="the driver's memory (default 4g)")
    args = parser.parse_args(argv)
    with local_server(port=args.port, memory=args.memory) as address:
        print(f"Spark Connect server on {address}, tables under {spark_dir()}; in another shell:\n")
        print(f"    export RECSYS_DBT_TARGET=spark SPARK_REMOTE={address}\n\nCtrl-C stops it.", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            signal.pause()


if __name__ == "__main__":
    main()
