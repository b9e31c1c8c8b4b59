"""What a run does before its first step: the dbt version is this environment's dbt-core's without a
subprocess, and a run's worker under ``dagster dev`` does not parse the dbt project again."""

import multiprocessing
import re
import subprocess

from dagster_defs.dbt_cli import DBT_EXECUTABLE
from dagster_defs.project import EnvironmentDbtPreparer
from dagster_defs.resources import _dbt_version


def test_the_dbt_version_is_what_the_executable_says():
    said = subprocess.run([DBT_EXECUTABLE, "--version"], capture_output=True, text=True, check=True).stdout
    core = re.search(r"installed:\s*(\d+\.\d+\.\d+)", said) or re.search(r"(\d+\.\d+\.\d+)", said)
    assert core is not None, said
    assert str(_dbt_version(DBT_EXECUTABLE)) == core.group(1)
    assert _dbt_version(DBT_EXECUTABLE).major < 2  # dbt Core: dagster-dbt builds its adapter


def _child_prepares(queue) -> None:
    queue.put(EnvironmentDbtPreparer().using_dagster_dev())


def test_only_the_code_server_parses_under_dagster_dev(monkeypatch):
    monkeypatch.setenv("DAGSTER_IS_DEV_CLI", "1")  # as dagster dev sets it for its code server
    assert EnvironmentDbtPreparer().using_dagster_dev()
    context = multiprocessing.get_context("spawn")  # how the code server starts a run's worker
    queue = context.Queue()
    worker = context.Process(target=_child_prepares, args=(queue,))
    worker.start()
    prepares = queue.get(timeout=120)
    worker.join(timeout=60)
    assert prepares is False
    monkeypatch.delenv("DAGSTER_IS_DEV_CLI")
    assert not EnvironmentDbtPreparer().using_dagster_dev()
