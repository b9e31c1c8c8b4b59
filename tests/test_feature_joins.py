"""A feature from a mart of its own: its yml declares the keys it joins another mart's rows on, its
features join that mart's feature set, and the marts reader joins them once per row, in row order."""

import duckdb
import numpy as np
import pandas as pd
import pytest

from ml.feature_sets import FeatureSet, parse_columns, parse_join, with_joins
from ml.warehouse.connection import connect
from ml.warehouse.marts import joined

COLUMNS = {
    "user_id": {},
    "brand": {},
    "snapshot_at": {},
    "user_brand_share": {"config": {"meta": {"feature": "numeric", "group": "pair"}}},
}
META = {"feature_join": {"into": "ctr_examples", "keys": ["user_id", "brand", "snapshot_at"]}}


def test_a_declared_join_adds_its_features_to_the_mart_it_joins():
    join = parse_join("user_brand_features", META, COLUMNS)
    assert join.keys == ("user_id", "brand", "snapshot_at") and join.features.names == ["user_brand_share"]
    ctr = parse_columns("ctr_examples", {"price": {"meta": {"feature": "numeric", "group": "item"}}})
    sets = with_joins({"ctr_examples": ctr, "user_brand_features": join.features}, [join])
    assert list(sets) == ["ctr_examples"]  # the joined mart is read through the mart it joins
    assert sets["ctr_examples"].names == ["price", "user_brand_share"]
    assert sets["ctr_examples"].for_model("lgbm_ctr").names == ["price", "user_brand_share"]
    assert parse_join("user_features", {}, COLUMNS) is None


@pytest.mark.parametrize(
    "meta, columns, says",
    [
        ({"feature_join": "ctr_examples"}, COLUMNS, "must be {into"),
        ({"feature_join": {"into": "ctr_examples", "keys": ["user_id", "category"]}}, COLUMNS, "declares no column ['category']"),
        (META, {k: {} for k in COLUMNS}, "declares no feature column"),
    ],
)
def test_a_wrong_join_declaration_says_what_to_fix(meta, columns, says):
    with pytest.raises(ValueError, match="marts.user_brand_features") as raised:
        parse_join("user_brand_features", meta, columns)
    assert says in str(raised.value)


def test_a_joined_feature_may_not_shadow_a_column():
    join = parse_join("user_brand_features", META, COLUMNS)
    taken = FeatureSet("ctr_examples", join.features.features)
    with pytest.raises(ValueError, match="rename them"):
        with_joins({"ctr_examples": taken}, [join])


def test_the_reader_left_joins_once_per_row_in_row_order(tmp_path):
    path = tmp_path / "w.duckdb"
    at = pd.Timestamp("2026-02-17")
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts")
        con.execute(
            "create table marts.user_brand_features as select * from (values "
            "(1, 'a', timestamp '2026-02-17', 0.75), (1, 'b', timestamp '2026-02-17', 0.25), "
            "(1, 'a', timestamp '2026-02-10', 1.0), (2, null, timestamp '2026-02-17', 1.0)"
            ") as t(user_id, brand, snapshot_at, user_brand_share)"
        )
    examples = pd.DataFrame(
        {"event_id": [3, 1, 2, 4], "user_id": [1, 1, 2, 1], "brand": ["b", "a", None, "c"], "snapshot_at": at}
    )
    join = parse_join("user_brand_features", META, COLUMNS)
    with connect(path) as con:
        out = joined(con, examples, "ctr_examples", [join])
    assert out["event_id"].tolist() == [3, 1, 2, 4]
    # (1, b) and (1, a) as of the 17th; a null brand matches nothing (as in SQL); (1, c): no engagement
    np.testing.assert_array_equal(out["user_brand_share"].to_numpy(), [0.25, 0.75, np.nan, np.nan])
    with duckdb.connect(str(path)) as con:
        con.execute("insert into marts.user_brand_features values (1, 'a', timestamp '2026-02-17', 0.5)")
    with connect(path) as con, pytest.raises(ValueError, match="several rows per key"):
        joined(con, examples, "ctr_examples", [join])
