"""The asset checks' decisions (pass, fail, first run), one check invoked as Dagster runs it, and the
lineage edges and groups of the loaded Definitions."""

import dagster as dg
import numpy as np
import pandas as pd

from dagster_defs.checks import beats_baseline, build_beats_popularity_check, build_regression_check, not_regressed
from dagster_defs.definitions import defs
from dagster_defs.project import GROUPS
from ml.evaluation import protocol as evaluation
from ml.evaluation import uncertainty
from ml.warehouse import evaluation_store


def per_user(values) -> pd.Series:
    return pd.Series(values, index=pd.Index(range(len(values)), name="user_id"), dtype=float)


RNG = np.random.default_rng(0)
BASE = per_user(RNG.random(400) * 0.2)
BETTER = BASE + 0.05 + RNG.normal(0, 0.02, 400)  # clearly better on the same users
NOISY = BASE + RNG.normal(0, 0.05, 400)  # a difference inside the noise
WORSE = BASE - 0.05 + RNG.normal(0, 0.02, 400)


def compare(mine, theirs):
    return uncertainty.paired_comparison(mine, theirs)


def test_beats_baseline_decides_on_the_paired_test():
    assert beats_baseline(compare(BETTER, BASE)).passed
    noise = beats_baseline(compare(NOISY, BASE))  # not a win, but not a blocking failure either
    assert not noise.passed and noise.severity == dg.AssetCheckSeverity.WARN and "no significant" in noise.description
    worse = beats_baseline(compare(WORSE, BASE))
    assert not worse.passed and worse.severity == dg.AssetCheckSeverity.ERROR
    missing = beats_baseline(None)
    assert not missing.passed and "evaluate the model first" in missing.description


def test_not_regressed_fails_only_on_a_significant_drop():
    assert not_regressed(None).passed  # first run: nothing to compare
    assert not_regressed(compare(NOISY, BASE)).passed
    assert not_regressed(compare(BETTER, BASE)).passed
    assert not not_regressed(compare(WORSE, BASE)).passed


def store_run(model: str, comparisons: pd.DataFrame, run: str, path) -> None:
    """An evaluation run as the evaluation asset writes it: the headline row and the paired tests."""
    headline = evaluation.metric_frame([("all", "ndcg", 10, 0.1, 400, 0.09, 0.11)])
    frame = pd.concat([headline, comparisons], ignore_index=True)
    evaluation_store.append_results(frame, {"model": model, "model_version": "v", "run_id": run, "test_window": "w"}, path)


def test_checks_read_the_warehouse_as_dagster_runs_them(tmp_path, monkeypatch):
    wh = tmp_path / "w.duckdb"
    monkeypatch.setenv("RECSYS_DUCKDB_PATH", str(wh))  # where the checks, as Dagster runs them, read
    beats, regressed = build_beats_popularity_check("als"), build_regression_check("als")
    store_run("als", evaluation.comparison_rows(BETTER, BASE, None), "r1", wh)
    store_run("ease", evaluation.comparison_rows(WORSE, BASE, None), "r2", wh)  # another model's rows are not als's
    assert beats().passed and regressed().passed
    # a second run, worse than popularity and than the first run, on the same users
    second = evaluation.comparison_rows(WORSE, BASE, BETTER)
    store_run("als", second, "r3", wh)
    assert not beats().passed and not regressed().passed
    assert set(second["slice"]) == {"vs_popularity", "vs_previous"}


def test_the_previous_evaluation_is_the_latest_on_the_same_test_window(tmp_path):
    wh = tmp_path / "w.duckdb"
    evaluation_store.write_user_results("ease", NOISY, "r0", "v0", "w1", wh)  # another model on the same window
    assert evaluation_store.previous_user_results("als", "w1", wh) is None  # als's first evaluation
    evaluation_store.write_user_results("als", BETTER, "r1", "v1", "w1", wh)
    evaluation_store.write_user_results("als", WORSE, "r2", "v2", "w2", wh)  # new data moved the window
    assert evaluation_store.previous_user_results("als", "w1", wh).equals(BETTER.rename("value"))
    assert evaluation_store.previous_user_results("als", "w2", wh).equals(WORSE.rename("value"))
    assert evaluation_store.previous_user_results("als", "w3", wh) is None  # an evaluation then has nothing to compare
    assert evaluation_store.previous_user_results("ease", "w1", wh).equals(NOISY.rename("value"))
    assert "moved the window" in not_regressed(None).description


def test_lineage_reads_raw_to_leaderboard_in_named_groups():
    graph = defs.resolve_asset_graph()

    def parents(key: str) -> set[str]:
        return {k.to_user_string() for k in graph.get(dg.AssetKey.from_user_string(key)).parent_keys}

    assert "raw/raw_events" in parents("staging/stg_shop__events_validated")
    assert {"marts/interactions", "tuning/als"} <= parents("models/als")
    assert "tuning/two_stage" in parents("models/two_stage")
    assert {"models/als", "models/popularity"} <= parents("evaluation/als")
    assert {"models/popularity", "models/item_item", "models/als"} <= parents("models/two_stage")
    # every evaluation appends to evaluation.results, the leaderboard's source: the lineage closes
    assert {"evaluation/als", "evaluation/two_stage", "evaluation/oracle", "evaluation/dcn"} <= parents("evaluation/results")
    assert "evaluation/results" in parents("marts/leaderboard")
    groups = {graph.get(k).group_name for k in graph.get_all_asset_keys()}
    assert groups == set(GROUPS)  # no stray "default" group of external raw tables
    assert not [k for k in graph.get_all_asset_keys() if k.path[0] == "shop"]
    for key in graph.get_all_asset_keys():  # every asset says what it is
        description = graph.get(key).description or ""
        assert len(description) > 20 and "None" not in description, key


def test_what_the_ui_shows_is_described_and_exact():
    """Each asset's Definition tab names its group's meaning; every asset check (dbt's too) says what it
    checks; a p-value far below 1e-4 is not shown as 0."""
    graph = defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assert node.metadata["group"] == f"{node.group_name}: {GROUPS[node.group_name]}", key
    for check in graph.asset_check_keys:
        assert len(graph.get_check_spec(check).description or "") > 10, check
    described = {k.name: graph.get_check_spec(k).description for k in graph.asset_check_keys}
    assert described["not_null_user_features_ctr_smoothed"] == "dbt test not_null on column ctr_smoothed"
    assert described["assert_train_window_has_events"].startswith("The train window is empty")
    tiny = uncertainty.paired_comparison(BASE + 0.015 + np.random.default_rng(1).normal(0, 0.05, 400), BASE)
    assert 0 < tiny.p_value < 1e-4 and beats_baseline(tiny).metadata["p_value"].value == tiny.p_value
