"""Point in time, for every declared feature: the features as of the split do not change when every
event at or after the split is removed. Two builds of the sample with the same fixed split, one without
the events from the split on; every feature the marts' yml declare (user and item features, and the CTR
features of the test examples' pairs) must be equal, whatever feature is declared next."""

import pandas as pd
import pytest

from ml.warehouse import connection as warehouse
from ml.warehouse.connection import connect
from ml.warehouse.marts import candidate_features, joined
from tests.conftest import declared, run_dbt
from tests.engines import sample_as_parquet

SPLIT = "2026-02-24"  # the sample's split (the last 7 days are the test window), fixed for both builds


@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    base = tmp_path_factory.mktemp("point_in_time")
    full = sample_as_parquet(base / "full")
    cut = sample_as_parquet(base / "cut")
    events = pd.read_parquet(cut / "events.parquet")
    at = pd.to_datetime(events["event_at"], errors="coerce", utc=True).dt.tz_localize(None)
    kept = events[~(at >= pd.Timestamp(SPLIT))]  # unparseable timestamps stay: staging quarantines them in both
    assert len(kept) < len(events)
    kept.to_parquet(cut / "events.parquet", index=False)
    wh = {}
    for name, raw in (("full", full), ("cut", cut)):
        wh[name] = base / f"{name}.duckdb"
        vars_ = ["--vars", f"{{split_at: '{SPLIT}'}}", "--exclude", "resource_type:unit_test"]
        run_dbt(["build", *vars_, "--select", "+path:models/marts"], wh[name], raw_dir=raw)
    return wh


@pytest.mark.parametrize("mart, key", [("user_features", "user_id"), ("item_features", "item_id")])
def test_entity_features_as_of_the_split_ignore_later_events(builds, mart, key):
    def features(path) -> pd.DataFrame:  # the mart's rows with the features of the marts that join it
        with connect(path) as con:
            return joined(con, con.execute(f"select * from marts.{mart} order by {key}").df(), mart)

    columns = [key, *declared()[mart].names]
    full, cut = (features(builds[n])[columns] for n in builds)
    assert len(full) == len(cut) > 0
    pd.testing.assert_frame_equal(full, cut, check_dtype=False)


def test_ctr_features_of_pairs_as_of_the_split_ignore_later_events(builds):
    pairs = warehouse.query_df(
        "select user_id, item_id, event_hour, is_weekend from marts.ctr_examples where split = 'test'", builds["full"]
    ).drop_duplicates(["user_id", "item_id"])
    assert len(pairs) > 1000
    names = declared()["ctr_examples"].names
    full, cut = (candidate_features(pairs, builds[n])[names] for n in builds)
    pd.testing.assert_frame_equal(full, cut, check_dtype=False)
