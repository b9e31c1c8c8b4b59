"""An analytics engineer adds features, as the README's "Add a feature" says, in SQL and yml only: a
column of the CTR features, and a new mart whose yml joins its feature into the CTR examples on keys.
One `recsys-pipeline --changed` rebuilds what the change touches and nothing else, the models that read
the CTR examples train with both, and the feature verdict says what the change did, on validation
rows. Run on a copy of the project and of the main job's data."""

import json
import re
import shutil
import subprocess
import sys

from bench.feature_edits import USER_BRAND_SHARE, add_ctr_column, add_feature_mart, copy_project
from ml.warehouse import connection as warehouse
from tests.conftest import ROOT, isolated_env

NEW = "user_log_price_gap"
JOINED = "user_brand_share"  # from a new mart, joined into the CTR examples on keys its yml declares


def test_a_sql_feature_reaches_the_models_and_gets_a_verdict_in_one_run(pipeline_env, tmp_path):
    _, base, _, _ = pipeline_env
    project = copy_project(ROOT, tmp_path / "project")
    for part in ("data", "dagster_home"):
        shutil.copytree(base / "snapshot" / part, tmp_path / part, symlinks=True)
    gap = "abs(ln(i.price) - ln(coalesce(uf.avg_engaged_price, i.price)))"
    add_ctr_column(project, NEW, gap, "distance in log price between the item and what the user engaged with")
    add_feature_mart(project, USER_BRAND_SHARE)
    env = isolated_env(tmp_path)
    command = [sys.executable, "-m", "dagster_defs.pipeline", "--changed"]
    proc = subprocess.run(command, env=env, cwd=project, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    changed = next(line for line in proc.stdout.splitlines() if line.startswith("changed: "))
    assert "models/als" not in changed
    assert {"marts/ctr_examples", "marts/user_brand_features"} <= set(changed.removeprefix("changed: ").split(", "))
    materialized = int(re.search(r"materializing (\d+) assets", proc.stdout).group(1))
    assert materialized < 20  # the CTR mart and what reads it, not the whole graph
    for model in ("dcn", "ctr_mlp", "lgbm_ctr"):  # each trained with the new column, recorded in its artifact
        params = json.loads((tmp_path / "data" / "models" / model / "latest" / "params.json").read_text())
        assert {NEW, JOINED} <= {name for name, _, _ in params["features"]["features"]}, model
    verdicts = warehouse.query_df("select * from analysis.feature_verdict", tmp_path / "data" / "warehouse.duckdb")
    assert set(verdicts["model"]) == {"dcn", "ctr_mlp", "lgbm_ctr"} and set(verdicts["features_added"]) == {f"{JOINED},{NEW}"}
    assert set(verdicts["verdict"]) <= {"helped", "hurt", "noise"} and (verdicts["ci_low"] <= verdicts["ci_high"]).all()
    assert "feature verdict (validation rows" in proc.stdout and f"+{JOINED}, +{NEW}" in proc.stdout
