"""The asset checks' decisions (pass, fail, first run), one check invoked as Dagster runs it, and the
lineage edges and groups of the loaded Definitions."""

import dagster as dg
import pandas as pd

from dagster_defs.checks import beats_baseline, build_beats_popularity_check, build_regression_check, not_regressed
from dagster_defs.definitions import defs
from dagster_defs.project import GROUPS
from dagster_defs.resources import RecsysResource
from ml import warehouse


def history(*values):
    return pd.DataFrame({"run_id": [f"r{i}" for i in range(len(values))], "value": list(values)})


def test_beats_baseline_passes_fails_and_needs_both_evaluations():
    assert beats_baseline(history(0.10), history(0.05)).passed
    assert not beats_baseline(history(0.05), history(0.05)).passed  # equal is not better
    assert not beats_baseline(history(0.20, 0.04), history(0.05)).passed  # the latest run decides
    missing = beats_baseline(history(), history(0.05))
    assert not missing.passed and "evaluate both" in missing.description


def test_not_regressed_tolerates_noise_but_not_a_drop():
    assert not_regressed(history(0.10), 0.02).passed  # first run: nothing to compare
    assert not_regressed(history(0.10, 0.085), 0.02).passed
    assert not not_regressed(history(0.10, 0.07), 0.02).passed
    assert not_regressed(history(0.10, 0.07), 0.05).passed


def metrics_rows(model: str, ndcg: float, run: str) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "model": model,
                "slice": "all",
                "metric": "ndcg",
                "k": 10,
                "value": ndcg,
                "n_users": 10,
                "model_version": "v",
                "run_id": run,
                "evaluated_at": pd.Timestamp("2026-01-01") + pd.Timedelta(run),
            }
        ]
    )


def test_checks_read_the_warehouse_as_dagster_runs_them(tmp_path):
    wh = tmp_path / "w.duckdb"
    recsys = RecsysResource(warehouse_path=str(wh), artifacts_dir=str(tmp_path), ground_truth_path="none")
    warehouse.append_metrics("popularity", metrics_rows("popularity", 0.05, "1s"), wh)
    warehouse.append_metrics("als", metrics_rows("als", 0.10, "2s"), wh)
    beats, regressed = build_beats_popularity_check("als"), build_regression_check("als")
    assert beats(recsys=recsys).passed and regressed(recsys=recsys).passed
    warehouse.append_metrics("als", metrics_rows("als", 0.04, "3s"), wh)  # a worse second run
    assert not beats(recsys=recsys).passed and not regressed(recsys=recsys).passed


def test_lineage_reads_raw_to_leaderboard_in_named_groups():
    graph = defs.resolve_asset_graph()

    def parents(key: str) -> set[str]:
        return {k.to_user_string() for k in graph.get(dg.AssetKey.from_user_string(key)).parent_keys}

    assert "raw/raw_events" in parents("staging/stg_shop__events_validated")
    assert "marts/interactions" in parents("models/als")
    assert {"models/als", "models/popularity"} <= parents("evaluation/als")
    assert {"models/popularity", "models/item_item", "models/als"} <= parents("models/two_stage")
    assert {"evaluation/als", "evaluation/two_stage", "evaluation/oracle"} <= parents("marts/leaderboard")
    groups = {graph.get(k).group_name for k in graph.get_all_asset_keys()}
    assert groups == set(GROUPS)  # no stray "default" group of external raw tables
    assert not [k for k in graph.get_all_asset_keys() if k.path[0] == "shop"]
    for key in graph.get_all_asset_keys():  # every asset says what it is
        description = graph.get(key).description or ""
        assert len(description) > 20 and "None" not in description, key
