"""One end-to-end materialization of the whole graph on the committed sample, in a temp directory,
then two overlapping runs that both write the warehouse."""

import json
import os
import subprocess
import sys

import httpx
import pytest

from ml import models, tuning
from ml.ctr.gbdt import LightGBMCTR
from ml.models import load_model
from ml.warehouse import connection as warehouse
from tests.conftest import ROOT, pipeline, running_service


def test_whole_graph_materializes_and_leaderboard_ranks_models(pipeline_env):
    env, base, stdout, _ = pipeline_env
    wh = base / "data" / "warehouse.duckdb"
    board = warehouse.query_df("select * from marts.leaderboard", wh).set_index("model")
    assert set(board.index) == set(models.MODELS)  # every model of the catalog was evaluated
    for model in ("als", "item_item", "ease", "two_tower"):
        assert board.loc[model, "ndcg_at_10"] > board.loc["popularity", "ndcg_at_10"], model
        # every ranking metric has its interval, and the lift over popularity its paired test
        row = board.loc[model]
        assert row.ndcg_at_10_ci_low < row.ndcg_at_10 < row.ndcg_at_10_ci_high
        assert row.lift_ci_low <= row.ndcg_lift_vs_popularity <= row.lift_ci_high and 0 <= row.p_vs_popularity <= 1
    assert board.loc["als", "p_vs_popularity"] < 0.05 and board.loc["als", "lift_ci_low"] > 0
    # tuning chose on validation (RP3beta's cross-fitted gain there is significant on the sample), and
    # training refit what it chose
    tuned = load_model(base / "data" / "models" / "rp3beta" / "latest").params
    trials = [line for line in stdout.splitlines() if "] tuning/" in line]
    assert len(trials) == len(tuning.TUNED) and tuned != tuning.default_params("rp3beta")
    assert "split (last_days): validation from" in stdout
    assert board.loc["oracle", "ndcg_share_of_oracle"] == 1.0
    # CTR models: better than chance, below the oracle that knows the true click probabilities
    for model in ("dcn", "ctr_mlp", "lgbm_ctr"):
        assert 0.6 < board.loc[model, "ctr_auc"] < board.loc["oracle", "ctr_auc"]
    # the terminal reads as a progress report: a line per asset, then the summary with the leaderboard
    lines = stdout.splitlines()
    total = int(lines[0].split()[1])
    assert sum(line.startswith("[") and f"/{total}]" in line for line in lines) == total
    als_line = next(line for line in lines if "] evaluation/als " in line)
    assert f"ndcg@10 {board.loc['als', 'ndcg_at_10']:.4f}" in als_line
    summary = lines[lines.index(next(line for line in lines if line.startswith("leaderboard ("))) + 2 :]
    assert [row.split()[0] for row in summary][:2] == ["oracle", board.drop("oracle")["ndcg_at_10"].idxmax()]
    assert " DEBUG " not in stdout and "dbt=" not in stdout  # dbt's and Dagster's own logs go to the file
    assert list((base / "data" / "logs").glob("pipeline-*.log"))
    for model in ("popularity", "item_item", "als", "two_tower", "dcn", "ctr_mlp", "lgbm_ctr", "two_stage"):
        assert (base / "data" / "models" / model / "latest" / "params.json").exists()
    # every published artifact loads back through the one loader, the two-stage ranker included
    two_stage = load_model(base / "data" / "models" / "two_stage" / "latest")
    assert set(two_stage.generators) == {"popularity", "item_item", "als"}
    cold = warehouse.query_df("select distinct model, slice from analysis.cold_start", wh)
    assert len(cold) == len(models.RECOMMENDER_NAMES) * 3
    # the feature ablation is opt-in: not part of the main job
    assert "analysis/feature_ablation" not in stdout and "analysis/cold_start" in stdout
    # evaluation rows carry the run and model version (the artifact the run trained)
    rows = warehouse.query_df("select distinct model_version, run_id from evaluation.results where model = 'als'", wh)
    assert len(rows) == 1 and (base / "data" / "models" / "als" / rows["model_version"][0]).exists()


def test_feature_ablation_runs_on_request_and_stores_deltas(pipeline_env):
    env, base, _, _ = pipeline_env
    proc = pipeline(env, "--select", "analysis/feature_ablation")
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    wh = base / "data" / "warehouse.duckdb"
    ablation = warehouse.query_df("select model, dropped_group, metric, value, delta from analysis.feature_ablation", wh)
    assert {"none", "generators", "pair", "exposure"} <= set(ablation[ablation.model == "two_stage"].dropped_group)
    assert {"none", "ids", "context"} <= set(ablation[ablation.model == "dcn"].dropped_group)
    full = ablation[ablation.dropped_group == "none"].set_index("model")["value"]
    for row in ablation.itertuples():  # delta = value - the full model's value, per model
        assert abs(row.delta - (row.value - full[row.model])) < 1e-12
    assert (ablation[ablation.dropped_group == "none"]["delta"] == 0).all()
    assert 0.5 < full["dcn"] < 1 and 0 < full["two_stage"] < 1


def test_overlapping_runs_both_succeed_on_the_single_writer_warehouse(pipeline_env):
    env, base, _, _ = pipeline_env
    cmd = [
        sys.executable,
        "-m",
        "dagster",
        "asset",
        "materialize",
        "-m",
        "dagster_defs.definitions",
        "--select",
        "evaluation/popularity,evaluation/item_item,evaluation/results,marts/leaderboard",
    ]
    procs = [
        subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for _ in range(2)
    ]
    outs = [p.communicate(timeout=600)[0] for p in procs]
    for p, out in zip(procs, outs, strict=True):
        assert p.returncode == 0, out[-4000:]
    wh = base / "data" / "warehouse.duckdb"
    runs = warehouse.query_df("select count(distinct run_id) n from evaluation.results where model = 'popularity'", wh)["n"][0]
    assert runs == 3  # the pipeline's run plus both overlapping runs wrote their rows
    # identical data and config: every run measured the same NDCG (reproducible evaluation)
    values = warehouse.query_df(
        "select run_id, max(value) as value from evaluation.results "
        "where model = 'item_item' and slice = 'all' and metric = 'ndcg' and k = 10 group by run_id",
        wh,
    )["value"]
    assert values.nunique() == 1


def test_service_serves_the_materialized_models_with_their_metrics(pipeline_env):
    env, _, _, _ = pipeline_env
    with running_service(env) as url:
        models = {m["name"]: m for m in httpx.get(f"{url}/models").json()}
        assert {"popularity", "item_item", "als", "two_tower"} <= set(models)
        assert models["als"]["metrics"]["ndcg_at_10"] > models["popularity"]["metrics"]["ndcg_at_10"]
        r = httpx.get(f"{url}/users/1/recommendations", params={"model": "two_tower", "k": 5})
        assert r.status_code == 200 and len(r.json()["items"]) == 5
        status = {m["name"]: m for m in httpx.get(f"{url}/status").json()["models"]}
        assert status["als"]["data_window"]["test_from"] and status["als"]["warehouse"] == "duckdb"  # not where it is
        assert models["als"]["metrics_of_served_version"] is True  # the main job evaluated what it published


def test_the_leaderboard_alone_after_a_full_run(pipeline_env):
    env, base, _, _ = pipeline_env
    proc = pipeline(env, "--select", "marts/leaderboard")
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert "materializing 1 assets" in proc.stdout


def test_training_and_evaluation_are_tracked_in_mlflow_when_configured(pipeline_env):
    """With MLFLOW_TRACKING_URI set, the Dagster run has one MLflow run named after it, holding every
    model's parameters, artifact path and test metrics."""
    from mlflow.tracking import MlflowClient

    env, base, stdout, board = pipeline_env
    client = MlflowClient(env["MLFLOW_TRACKING_URI"])
    dagster_run = stdout.split("(run ")[1][:8]
    experiment = client.get_experiment_by_name("recsys")
    runs = client.search_runs([experiment.experiment_id], filter_string=f"attributes.run_name = 'dagster-{dagster_run}'")
    assert len(runs) == 1
    params, metrics = runs[0].data.params, runs[0].data.metrics
    latest = (base / "data" / "models" / "als" / "latest").resolve()
    assert params["als.artifact_path"] == str(latest) and "als.factors" in params
    ndcg = board.set_index("model")["ndcg_at_10"]
    for model in ("als", "item_item", "two_tower", "popularity"):
        assert metrics[f"{model}.ndcg_at_10"] == pytest.approx(ndcg[model], rel=1e-12), model
    assert "dcn.ctr_auc" in metrics


def test_tracking_off_costs_nothing():
    """Without MLFLOW_TRACKING_URI the code location never imports mlflow."""
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    code = (
        "import sys, dagster_defs.definitions; from ml import tracking; "
        "tracking.log('r', 'm', {'a': 1}); print('mlflow' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "False"


def test_every_dbt_test_the_run_executed_is_an_asset_check_and_no_asset_is_phantom(pipeline_env):
    """A dbt test that reads two dbt steps' models (relationships to the staged items, the quarantine
    reconciliation) is an asset check of one step, not an observation 'due to dbt indirect selection';
    the instance holds events for defined assets only."""
    import dagster as dg

    from dagster_defs.definitions import defs

    instance = dg.DagsterInstance.from_config(str(pipeline_env[1] / "snapshot" / "dagster_home"))
    defined = defs.resolve_asset_graph().get_all_asset_keys()
    assert set(instance.get_asset_keys()) <= defined, set(instance.get_asset_keys()) - defined
    kinds = (dg.DagsterEventType.ASSET_OBSERVATION, dg.DagsterEventType.ASSET_CHECK_EVALUATION)
    observed, checked = (
        [r.event_log_entry for r in instance.get_event_records(dg.EventRecordsFilter(event_type=k))] for k in kinds
    )
    tests = [e for e in observed if str(e.asset_observation.metadata.get("unique_id", "")).startswith("test.")]
    assert tests == [], [e.asset_observation.metadata["unique_id"] for e in tests]
    names = {e.dagster_event.event_specific_data.check_name for e in checked}
    assert {"assert_quarantine_reconciles", "relationships_int_events_referenced_item_id__item_id__ref_stg_shop__items_"} <= names
    # staleness: each served model was checked against the marts it was just trained on, and the marts the
    # models read carry a freshness policy; the summary says how old each served model's data is
    fresh = [e.dagster_event.event_specific_data for e in checked]
    fresh = {c.asset_key.path[1]: c.passed for c in fresh if c.check_name == "trained_on_the_newest_data"}
    assert fresh == dict.fromkeys(models.SERVED, True)
    from dagster_defs.freshness import MART_POLICY, MARTS_READ

    graph = defs.resolve_asset_graph()
    assert {k: graph.get(k).freshness_policy for k in MARTS_READ} == dict.fromkeys(MARTS_READ, MART_POLICY)
    summary = pipeline_env[2].split("served models' data, by its last event", 1)[1].splitlines()
    assert [line.split(":")[0].strip() for line in summary[1 : len(models.SERVED) + 1]] == models.SERVED
    assert all("0.0 days behind the marts" in line for line in summary[1 : len(models.SERVED) + 1])


def test_the_daily_cycle_reuses_the_tuning_until_its_budget_changes_and_warm_starts(pipeline_env, monkeypatch):
    """The same data again as the daily cycle (--daily): the tuning's choice is reused (no search) with
    the drift it measured, a new trial budget searches again; a click model continues from its last
    version."""
    import dagster as dg

    env, _, _, _ = pipeline_env
    names = ("item_item", "two_stage")  # the models this test re-tunes
    select = " or ".join([*(f'key:"tuning/{n}"' for n in names), 'key:"models/lgbm_ctr"'])
    ranker = {"ops": {"tuning__two_stage": {"config": {"reuse_below_psi": 0.1}}}}  # re-tuned daily unless set
    proc = pipeline(env, "--daily", "--select", select, "--config", json.dumps(ranker))
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    rebudget = {"tuning__item_item": {"config": {"reuse_below_psi": 0.1, "n_trials": 2}}}
    proc = pipeline(env, "--select", 'key:"tuning/item_item"', "--config", json.dumps({"ops": rebudget}))
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    monkeypatch.setenv("DAGSTER_HOME", env["DAGSTER_HOME"])
    with dg.DagsterInstance.get() as instance:
        records = {n: instance.fetch_materializations(dg.AssetKey(["tuning", n]), limit=3).records for n in names}
        click = instance.fetch_materializations(dg.AssetKey(["models", "lgbm_ctr"]), limit=2).records
    history = {n: [r.asset_materialization.metadata for r in rs] for n, rs in records.items()}
    main, again = history["two_stage"][1], history["two_stage"][0]  # newest first
    assert "reused_from_run" not in main and again["reused_from_run"].value  # type: ignore[attr-defined]
    assert again["params"].value == main["params"].value and again["tuned_at"].value == main["tuned_at"].value
    assert "no drift since the last tuning" in again["decision"].value and max(again["drift_psi"].value.values()) == 0
    rebudgeted, reused, _ = history["item_item"]
    assert "reused_from_run" in reused and "reused_from_run" not in rebudgeted and rebudgeted["n_trials"].value == 2
    assert rebudgeted["tuned_because"].value == "its budget changed since the last tuning"
    assert main["tuned_because"].value == "no earlier tuning to reuse"
    warm, cold = (r.asset_materialization.metadata for r in click)  # newest first
    assert cold["fit"].value == "cold" and warm["fit"].value == "warm", warm["fit_reason"].value
    assert warm["warm_start_state"].value == cold["warm_start_state"].value  # the clock of the next check runs on
    trees = {k: load_model(m["artifact_path"].value).booster.num_trees() for k, m in (("warm", warm), ("cold", cold))}
    assert trees["cold"] < trees["warm"] <= trees["cold"] + LightGBMCTR.Params().warm_trees  # it grew from there


def test_steps_side_by_side_reproduce_the_steps_one_at_a_time(pipeline_env):
    """--processes 2: every step in a process of its own, two at a time (the main job on the sample ran
    in one process): the same tunings, models and test metrics."""
    env, base, _, _ = pipeline_env
    names = ("rp3beta", "ease")  # models no other test here re-tunes or re-evaluates
    select = " or ".join(f'key:"{stage}/{n}"' for n in names for stage in ("tuning", "models", "evaluation"))
    proc = pipeline(env, "--processes", "2", "--select", select)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    run = proc.stdout.split("(run ")[1][:8]
    log = next((base / "data" / "logs").glob(f"pipeline-*-{run}.log")).read_text()
    assert "using multiprocess executor" in log and 'Executing step "tuning__ease" in subprocess' in log
    wh = base / "data" / "warehouse.duckdb"
    results = warehouse.query_df(
        "select model, run_id, metric, k, value from evaluation.results where slice = 'all' and model in ('rp3beta', 'ease') "
        "order by model, run_id, metric, k",
        wh,
    )
    runs = results.groupby("run_id")
    assert runs.ngroups == 2  # the main job's and this one
    first, second = (frame.drop(columns="run_id").reset_index(drop=True) for _, frame in runs)
    assert first.equals(second)
