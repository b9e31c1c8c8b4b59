"""The simulated world end to end, short: recsys-simulate on a copy of the main job's data serves the
visitors through the running service (the experiment picks each one's arm), answers with the
generator's truth, ingests the live log through Dagster, and measures the arms: the oracle wins online,
the exposures add up, and the online ranking agrees with the offline one."""

import re
import shutil
import subprocess
import sys

import duckdb

from tests.conftest import ROOT, isolated_env


def test_a_short_simulation_measures_the_arms_and_the_oracle_wins(pipeline_env, tmp_path):
    _, base, _, _ = pipeline_env
    for part in ("data", "dagster_home"):
        shutil.copytree(base / "snapshot" / part, tmp_path / part, symlinks=True)
    env = isolated_env(tmp_path)
    arms = "oracle,als,popularity"
    command = [sys.executable, "-m", "ml.simulation.run", "--days", "1", "--users-per-day", "200", "--arms", arms]
    proc = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    print(proc.stdout)
    assert re.search(r"^day 1: 2,000 items shown", proc.stdout, re.M)  # 200 visitors x k = 10
    with duckdb.connect(str(tmp_path / "data" / "warehouse.duckdb"), read_only=True) as con:
        arms = dict(con.execute("select arm, ctr from experiments.experiment_arms where experiment = 'simulation'").fetchall())
        shown = con.execute("select count(*) from experiments.experiment_exposures").fetchall()[0][0]
    assert shown == 2000 and set(arms) == {"oracle", "als", "popularity"}
    assert arms["oracle"] > arms["als"] > arms["popularity"]
    tau = float(re.search(r"Kendall tau .*: ([+-][\d.]+) \[", proc.stdout).group(1))
    assert tau == 1.0  # three arms ordered the same online and offline
