"""The asset checks' decisions (pass, fail, first run), one check invoked as Dagster runs it, and the
lineage edges and groups of the loaded Definitions."""

import dagster as dg
import numpy as np
import pandas as pd

from dagster_defs.checks import beats_baseline, build_beats_popularity_check, build_regression_check, not_regressed
from dagster_defs.definitions import defs
from dagster_defs.project import GROUPS
from dagster_defs.resources import RecsysResource
from ml import evaluation, uncertainty, warehouse


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


def evaluation_rows(model: str, comparisons: pd.DataFrame, run: str) -> pd.DataFrame:
    """An evaluation run as the evaluation asset writes it: the headline row and the paired tests."""
    headline = pd.DataFrame([("all", "ndcg", 10, 0.1, 400, 0.09, 0.11)], columns=evaluation.METRIC_COLUMNS)
    return pd.concat([headline, comparisons], ignore_index=True).assign(
        model=model, model_version="v", run_id=run, evaluated_at=pd.Timestamp("2026-01-01") + pd.Timedelta(run)
    )


def test_checks_read_the_warehouse_as_dagster_runs_them(tmp_path):
    wh = tmp_path / "w.duckdb"
    recsys = RecsysResource(warehouse_path=str(wh), artifacts_dir=str(tmp_path), ground_truth_path="none")
    beats, regressed = build_beats_popularity_check("als"), build_regression_check("als")
    warehouse.append_metrics("als", evaluation_rows("als", evaluation.comparison_rows(BETTER, BASE, None), "1s"), wh)
    assert beats(recsys=recsys).passed and regressed(recsys=recsys).passed
    # a second run, worse than popularity and than the first run, on the same users
    second = evaluation.comparison_rows(WORSE, BASE, BETTER)
    warehouse.append_metrics("als", evaluation_rows("als", second, "2s"), wh)
    assert not beats(recsys=recsys).passed and not regressed(recsys=recsys).passed
    assert set(second["slice"]) == {"vs_popularity", "vs_previous"}


def test_the_previous_evaluation_is_the_latest_on_the_same_test_window(tmp_path):
    wh = tmp_path / "w.duckdb"
    with warehouse.connect(wh, read_only=False) as con:  # per-user values written before windows were recorded
        con.append(
            "evaluation_users",
            "als",
            BASE.rename("value").reset_index().assign(run_id="r0"),
            {"user_id": "bigint", "value": "double", "run_id": "varchar"},
        )
    assert warehouse.previous_user_metrics("als", "w1", wh) is None
    warehouse.write_user_metrics("als", BETTER, "r1", "v1", "w1", wh)
    warehouse.write_user_metrics("als", WORSE, "r2", "v2", "w2", wh)  # new data moved the window
    assert warehouse.previous_user_metrics("als", "w1", wh).equals(BETTER.rename("value"))
    assert warehouse.previous_user_metrics("als", "w2", wh).equals(WORSE.rename("value"))
    assert warehouse.previous_user_metrics("als", "w3", wh) is None  # an evaluation then has nothing to compare
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
    assert {"evaluation/als", "evaluation/two_stage", "evaluation/oracle"} <= parents("marts/leaderboard")
    groups = {graph.get(k).group_name for k in graph.get_all_asset_keys()}
    assert groups == set(GROUPS)  # no stray "default" group of external raw tables
    assert not [k for k in graph.get_all_asset_keys() if k.path[0] == "shop"]
    for key in graph.get_all_asset_keys():  # every asset says what it is
        description = graph.get(key).description or ""
        assert len(description) > 20 and "None" not in description, key
