"""An analytics engineer adds a feature, as the README's "Add a feature" says: a column in SQL and its
yml entry, nothing in Python. One `recsys-pipeline --changed` rebuilds what the change touches and
nothing else, the models that read the mart train with the new column, and the feature verdict says
what it did, on validation rows. Run on a copy of the project and of the main job's data."""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

from ml.warehouse import connection as warehouse
from tests.conftest import ROOT, isolated_env

NEW = "user_log_price_gap"


def add_feature(project: Path) -> None:
    """The two edits: the column in the CTR features' SQL, and its declaration in the mart's yml."""
    macro = project / "dbt_project" / "macros" / "ctr_features.sql"
    sql = macro.read_text()
    anchor = "coalesce(uf.avg_engaged_price, i.price) / i.price as user_price_ratio"
    assert anchor in sql
    macro.write_text(
        sql.replace(anchor, anchor + f",\n    abs(ln(i.price) - ln(coalesce(uf.avg_engaged_price, i.price))) as {NEW}")
    )
    yml = project / "dbt_project" / "models" / "marts" / "_marts__models.yml"
    text = yml.read_text()
    start = text.index("  - name: user_price_ratio\n") + len("  - name: user_price_ratio\n")
    at = start + re.search(r"^(  - name: |- name: |  [a-z_]+:)", text[start:], re.M).start()
    entry = (
        f"  - name: {NEW}\n"
        "    data_type: \"{{ 'double' if target.type == 'spark' else 'double precision' }}\"\n"
        "    description: distance in log price between the item and what the user engaged with, as of the snapshot\n"
        "    config:\n      meta: {feature: numeric, group: pair}\n"
    )
    yml.write_text(text[:at] + entry + text[at:])


def test_a_sql_feature_reaches_the_models_and_gets_a_verdict_in_one_run(pipeline_env, tmp_path):
    _, base, _, _ = pipeline_env
    project = tmp_path / "project"
    for part in ("ml", "dagster_defs", "dbt_project", "data/sample"):
        shutil.copytree(ROOT / part, project / part, ignore=shutil.ignore_patterns("target", "__pycache__", "logs"))
    for part in ("data", "dagster_home"):
        shutil.copytree(base / "snapshot" / part, tmp_path / part, symlinks=True)
    add_feature(project)
    env = isolated_env(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-m", "dagster_defs.pipeline", "--changed"],
        env=env,
        cwd=project,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    changed = proc.stdout.splitlines()[0]
    assert changed.startswith("changed: ") and "marts/ctr_examples" in changed and "models/als" not in changed
    materialized = int(re.search(r"materializing (\d+) assets", proc.stdout).group(1))
    assert materialized < 20  # the CTR mart and what reads it, not the whole graph
    for model in ("dcn", "ctr_mlp", "lgbm_ctr"):  # each trained with the new column, recorded in its artifact
        params = json.loads((tmp_path / "data" / "models" / model / "latest" / "params.json").read_text())
        assert NEW in [name for name, _, _ in params["features"]["features"]], model
    verdicts = warehouse.query_df("select * from analysis.feature_verdict", tmp_path / "data" / "warehouse.duckdb")
    assert set(verdicts["model"]) == {"dcn", "ctr_mlp", "lgbm_ctr"} and set(verdicts["features_added"]) == {NEW}
    assert set(verdicts["verdict"]) <= {"helped", "hurt", "noise"} and (verdicts["ci_low"] <= verdicts["ci_high"]).all()
    assert "feature verdict (validation rows" in proc.stdout and f"+{NEW}" in proc.stdout
