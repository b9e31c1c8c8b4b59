"""How old a model's data is, and when it is stale: hand-computed cases, the Dagster check's result,
the main job's summary lines and /status."""

from datetime import UTC, datetime, timedelta

import dagster as dg
from fastapi.testclient import TestClient

from dagster_defs.freshness import staleness_result
from ml.recommenders import PopularityRecommender
from ml.serving import freshness
from ml.serving.publish import provenance, publish
from service.app import build_app
from service.registry import Registry
from tests.conftest import tiny_data

DAY = timedelta(days=1)
UNTIL = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def test_staleness_is_the_lag_behind_the_marts_past_the_allowance():
    window = {"events_until": "2026-03-02 12:00:00"}  # the warehouse's naive timestamps are UTC
    assert freshness.data_until({"data_window": window}) == UNTIL
    assert freshness.data_until({}) is None and freshness.data_until({"data_window": None}) is None
    assert freshness.age_now({"data_window": window}, now=UNTIL + timedelta(days=3, hours=6)) == 3.25

    fresh = freshness.Staleness("als", UNTIL, UNTIL + timedelta(hours=20), DAY)
    assert fresh.behind == timedelta(hours=20) and not fresh.stale
    late = freshness.Staleness("als", UNTIL, UNTIL + timedelta(days=2, hours=12), DAY)
    assert late.behind == timedelta(days=2.5) and late.stale
    assert late.describe() == (
        "als: trained on events until 2026-03-02 12:00, 2.5 days behind the marts' newest event (2026-03-05 00:00), "
        "past its allowance of 1.0 days: retrain it"
    )
    newer = freshness.Staleness("als", UNTIL, UNTIL - DAY, DAY)  # the marts were rebuilt on less data
    assert newer.behind == timedelta(0) and not newer.stale
    unknown = freshness.Staleness("als", None, UNTIL, DAY)
    assert unknown.behind is None and not unknown.stale and "age unknown" in unknown.describe()


def test_the_check_warns_when_stale_and_the_summary_says_each_models_age():
    late = freshness.Staleness("als", UNTIL, UNTIL + 3 * DAY, DAY)
    result = staleness_result(late)
    assert not result.passed and result.severity == dg.AssetCheckSeverity.WARN
    assert result.metadata["days_behind"].value == 3.0 and result.metadata["allowance_days"].value == 1.0
    assert staleness_result(freshness.Staleness("ease", UNTIL, UNTIL, DAY)).passed

    lines = freshness.summary_lines([late, freshness.Staleness("ease", UNTIL, UNTIL + 3 * DAY, 4 * DAY)], now=UNTIL + 10 * DAY)
    assert lines == [
        "served models' data, by its last event (the marts' newest event 2026-03-05 12:00; stale when more than 24 h behind it):",
        "  als: until 2026-03-02 12:00 (10.0 days ago), 3.0 days behind the marts: STALE, retrain it",
        "  ease: until 2026-03-02 12:00 (10.0 days ago), 3.0 days behind the marts",
    ]
    assert freshness.summary_lines([]) == []


def test_status_says_how_old_each_served_models_data_is(tmp_path):
    data, models = tiny_data(), tmp_path / "models"
    window = {"split_strategy": "last_days", "test_from": "2026-02-23", "events_until": "2026-03-02 12:00:00"}
    publish(models, "popularity", "v1", PopularityRecommender().fit(data.train), data, provenance("duckdb", window))
    registry = Registry(models, tmp_path / "none.duckdb")
    registry.reload(force=True)
    (row,) = TestClient(build_app(registry)).get("/status").json()["models"]
    assert row["data_until"] == "2026-03-02 12:00:00"
    expected = (datetime.now(UTC) - UNTIL).total_seconds() / 86400
    assert abs(row["data_age_days"] - expected) < 0.02
