"""The simulated world end to end, short: recsys-simulate on a copy of the main job's data serves the
visitors through the running service (the experiment picks each one's arm), answers with the
generator's truth, ingests the live log through Dagster, and measures the arms: the oracle wins online,
the exposures add up, and the online ranking agrees with the offline one."""

import re
import shutil
import subprocess
import sys

import duckdb
import numpy as np
import pandas as pd

from ml.evaluation.oracle import evaluate_oracle
from ml.ingest.synthetic.truth import GroundTruth
from tests.conftest import ROOT, isolated_env, tiny_data


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


def test_the_oracle_scores_clicks_only_on_impressions_it_knows():
    """Impressions the service served (the live log) have no recorded true probability: the oracle's CTR
    metrics are measured on the generator's own impressions, not on NaN."""
    data = tiny_data()
    data.items["is_new_item"] = 0
    rng = np.random.default_rng(0)
    truth = GroundTruth(
        user_ids=data.users.user_id.to_numpy(), item_ids=data.items.item_id.to_numpy(),
        user_vectors=rng.normal(size=(40, 3)).astype(np.float32), item_vectors=rng.normal(size=(30, 3)).astype(np.float32),
        impression_event_ids=np.array([1, 2, 3, 4]), click_probability=np.array([0.9, 0.1, 0.8, 0.2], dtype=np.float32),
    )  # fmt: skip
    known = pd.DataFrame({"event_id": [1, 2, 3, 4], "clicked": [1, 0, 1, 0]})
    served = pd.concat([known, pd.DataFrame({"event_id": [9_000_000_000_000_000_001], "clicked": [1]})])
    auc = lambda frame: frame.set_index(["slice", "metric"])["value"].loc[("ctr_test", "auc")]  # noqa: E731
    assert auc(evaluate_oracle(truth, data, served)) == auc(evaluate_oracle(truth, data, known)) == 1.0
