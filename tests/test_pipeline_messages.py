"""A user's mistake gets one message that names its cause and the fix, never a traceback or a failure
further down that points elsewhere."""

import json

import dagster as dg
import pytest

from dagster_defs.definitions import defs
from dagster_defs.selection import SelectionError, resolve
from ml.warehouse import marts, summary
from tests.conftest import run_dbt


@pytest.fixture(scope="module")
def graph():
    return defs.resolve_asset_graph()


def test_selection_mistakes_say_what_to_write(graph):
    instance = dg.DagsterInstance.ephemeral()
    with pytest.raises(SelectionError, match=r"^--select 'models/als\+\+\+x': Invalid selection string") as bad:
        resolve("models/als+++x", graph, instance)
    assert "'+models/als' (with what it reads)" in str(bad.value) and "Traceback" not in str(bad.value)
    with pytest.raises(SelectionError, match=r"--select 'models/alss': AssetKey\(s\) \['models/alss'\] were selected"):
        resolve("models/alss", graph, instance)
    with pytest.raises(SelectionError, match="matches no asset"):
        resolve("tag:nothing", graph, instance)
    # a fresh instance has no stored tuning result for the model to load: say so before running anything
    with pytest.raises(SelectionError, match=r"loads the stored values of .*tuning/als.* never materialized .*'\+models/als\+'"):
        resolve("models/als+", graph, instance)
    assert [k.to_user_string() for k in resolve("tuning/als", graph, instance)] == ["tuning/als"]  # reads marts only


@pytest.mark.parametrize(
    ("strategy", "advice"),
    [
        ("last_days", "widen it (test_days or test_fraction) or use split_strategy leave_last_k"),
        ("leave_last_k", "lower holdout_k"),
    ],
)
def test_the_small_test_window_warning_fits_the_split_in_use(monkeypatch, strategy, advice):
    window = {"split_strategy": strategy, "valid_at": "a", "split_at": "b", "n_test_users": 40, "min_test_users": 200}
    monkeypatch.setattr(marts, "split_window", lambda con: window | {"n_train_users": 90, "n_validation_users": 50})
    warning = summary.split_summary(None)[1]
    assert warning.startswith("WARNING: the test window holds 40 users") and advice in warning
    assert ("use split_strategy leave_last_k" in warning) == (strategy != "leave_last_k")


def test_an_empty_train_window_stops_at_the_split_with_the_fix(tmp_path):
    """Every event inside the test window: the split's check fails first, naming the vars to change,
    and no feature mart is built (instead of a not_null failure on a feature further down)."""
    wh = tmp_path / "wh.duckdb"
    vars_ = json.dumps({"test_days": 3650})
    proc = run_dbt(
        ["build", "--select", "+user_features", "--exclude", "resource_type:unit_test", "--vars", vars_], wh, check=False
    )
    assert proc.returncode != 0
    failed = [line for line in proc.stdout.splitlines() if "FAIL " in line and "Got " not in line]
    assert len(failed) == 1 and "assert_train_window_has_events" in failed[0], proc.stdout[-3000:]
    assert "SKIP relation marts.user_features" in proc.stdout
