"""One end-to-end materialization of the whole graph on the committed sample, in a temp directory,
then two overlapping runs that both write the warehouse."""

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from ml import warehouse
from tests.conftest import running_service

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def pipeline_env(tmp_path_factory):
    base = tmp_path_factory.mktemp("pipeline")
    env = {**os.environ, "RECSYS_DATA_DIR": str(base / "data"), "DAGSTER_HOME": str(base / "dagster_home"),
           "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    for var in ("RECSYS_DUCKDB_PATH", "RECSYS_RAW_DIR"):
        env.pop(var, None)
    proc = subprocess.run([sys.executable, "-m", "dagster_defs.pipeline"], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    return env, base, proc.stdout


def test_whole_graph_materializes_and_leaderboard_ranks_models(pipeline_env):
    env, base, stdout = pipeline_env
    wh = base / "data" / "warehouse.duckdb"
    board = warehouse.query_df("select * from marts.leaderboard", wh).set_index("model")
    assert set(board.index) == {"popularity", "item_item", "als", "two_tower", "content", "hybrid", "two_stage",
                                "dcn", "ctr_mlp", "lgbm_ctr", "oracle"}
    for model in ("als", "item_item", "two_tower"):
        assert board.loc[model, "ndcg_at_10"] > board.loc["popularity", "ndcg_at_10"], model
    assert board.loc["oracle", "ndcg_share_of_oracle"] == 1.0
    # CTR models: better than chance, below the oracle that knows the true click probabilities
    for model in ("dcn", "ctr_mlp", "lgbm_ctr"):
        assert 0.6 < board.loc[model, "ctr_auc"] < board.loc["oracle", "ctr_auc"]
    assert "leaderboard" in stdout
    for model in ("popularity", "item_item", "als", "two_tower", "dcn", "ctr_mlp"):
        assert (base / "data" / "models" / model / "latest" / "params.json").exists()
    # the analyses landed in the warehouse: one ablation row per dropped group, cold-start slices per model
    ablation = warehouse.query_df("select model, slice from analysis.feature_ablation", wh)
    assert {"drop:none", "drop:generators", "drop:pair"} <= set(ablation["slice"])
    cold = warehouse.query_df("select distinct model, slice from analysis.cold_start", wh)
    assert len(cold) == 6 * 3
    # evaluation rows carry the run and model version (the artifact the run trained)
    rows = warehouse.query_df("select distinct model_version, run_id from evaluation.als", wh)
    assert len(rows) == 1 and (base / "data" / "models" / "als" / rows["model_version"][0]).exists()


def test_overlapping_runs_both_succeed_on_the_single_writer_warehouse(pipeline_env):
    env, base, _ = pipeline_env
    cmd = [sys.executable, "-m", "dagster", "asset", "materialize", "-m", "dagster_defs.definitions",
           "--select", "evaluation/popularity,evaluation/item_item,marts/leaderboard"]
    procs = [subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for _ in range(2)]
    outs = [p.communicate(timeout=600)[0] for p in procs]
    for p, out in zip(procs, outs, strict=True):
        assert p.returncode == 0, out[-4000:]
    wh = base / "data" / "warehouse.duckdb"
    runs = warehouse.query_df("select count(distinct run_id) n from evaluation.popularity", wh)["n"][0]
    assert runs == 3  # the pipeline's run plus both overlapping runs wrote their rows
    # identical data and config: every run measured the same NDCG (reproducible evaluation)
    values = warehouse.metric_history("item_item", path=wh)["value"]
    assert values.nunique() == 1


def test_service_serves_the_materialized_models_with_their_metrics(pipeline_env):
    env, _, _ = pipeline_env
    with running_service(env) as url:
        models = {m["name"]: m for m in httpx.get(f"{url}/models").json()}
        assert {"popularity", "item_item", "als", "two_tower"} <= set(models)
        assert models["als"]["metrics"]["ndcg_at_10"] > models["popularity"]["metrics"]["ndcg_at_10"]
        r = httpx.get(f"{url}/users/1/recommendations", params={"model": "two_tower", "k": 5})
        assert r.status_code == 200 and len(r.json()["items"]) == 5
