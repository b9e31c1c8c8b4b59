"""The SQL <-> Python boundary: the marts' enforced dbt contracts are the one definition of the columns
Python reads, and the serving-time CTR features computed in Python equal the SQL ones."""

import json

import numpy as np
import pandas as pd
import pytest
import yaml

from ml import columns, models, settings
from ml.ctr.features import CTR_ATTRIBUTES, CTR_CATEGORICAL, CTR_NUMERIC, pair_features
from ml.ingest import synthetic
from ml.recommenders import two_tower
from ml.serving.index import ITEM_ATTRIBUTES
from ml.two_stage.ranker import RANKER_ITEM_COLUMNS, RANKER_USER_COLUMNS
from ml.warehouse import connection as warehouse
from ml.warehouse.marts import load_interactions

MARTS_YML = settings.DBT_PROJECT_DIR / "models" / "marts" / "_marts__models.yml"


def contract(mart: str) -> dict[str, str]:
    """The mart's enforced contract as dbt parsed it for the default target (the YAML's types are
    rendered per engine: Spark's text is string, its float double)."""
    manifest = json.loads((settings.DBT_PROJECT_DIR / "target" / "manifest.json").read_text())
    node = manifest["nodes"][f"model.recsys.{mart}"]
    assert node["config"]["contract"]["enforced"] is True
    return {name: column["data_type"] for name, column in node["columns"].items()}


def test_every_python_column_list_is_in_its_mart_contract():
    assert set(CTR_NUMERIC + CTR_CATEGORICAL) <= set(contract("ctr_examples"))
    users, items = contract("user_features"), contract("item_features")
    assert set(two_tower.USER_NUMERIC + two_tower.USER_CATEGORICAL + RANKER_USER_COLUMNS) <= set(users)
    assert set(two_tower.ITEM_NUMERIC + two_tower.ITEM_CATEGORICAL + RANKER_ITEM_COLUMNS + ITEM_ATTRIBUTES) <= set(items)
    for mart in (columns.INTERACTIONS, columns.INTERACTIONS_DAILY):
        assert {columns.USER_IDX, columns.ITEM_IDX, columns.SPLIT, columns.WEIGHT} <= set(contract(mart))
    assert all(contract("ctr_examples")[c] == "varchar" for c in CTR_ATTRIBUTES)


def test_every_mart_column_is_typed_and_described():
    for mart in ("interactions", "interactions_daily", "user_features", "item_features", "ctr_examples"):
        for column in yaml.safe_load(MARTS_YML.read_text())["models"]:
            if column["name"] == mart:
                assert all(c.get("data_type") and c.get("description") for c in column["columns"]), mart


def test_one_definition_of_event_types_and_model_names():
    assert columns.event_types() == synthetic.FUNNEL  # the generator emits exactly the configured types
    assert set(models.SERVED) <= set(models.MODELS) and models.FALLBACK in models.RECOMMENDER_NAMES


# the contracts use SQL-standard names that DuckDB reports by its own
SQL_ALIASES = {"double precision": "double"}


def test_built_marts_match_their_contracts(sample_warehouse):
    with warehouse.connect(sample_warehouse) as con:
        for mart in ("interactions", "user_features", "item_features", "ctr_examples"):
            built = dict(
                con.execute(
                    "select column_name, lower(data_type) from information_schema.columns "
                    "where table_schema = 'marts' and table_name = ? order by ordinal_position",
                    [mart],
                ).fetchall()
            )
            declared = {name: SQL_ALIASES.get(t, t) for name, t in contract(mart).items()}
            assert built == declared, mart


def test_serving_pair_features_equal_the_sql_ctr_features(sample_warehouse):
    """For the test window (features as of the split) the Python features of a (user, item) pair are
    the ctr_examples row's, column for column, context features aside."""
    data = load_interactions(sample_warehouse)
    examples = warehouse.query_df(
        "select * from marts.ctr_examples where split = 'test' order by event_id", sample_warehouse
    ).head(3000)
    py = pair_features(data.users, data.items, data.train, examples["user_idx"].to_numpy(), examples["item_idx"].to_numpy())
    compared = [c for c in CTR_NUMERIC + CTR_CATEGORICAL if c not in ("event_hour", "is_weekend")]
    for col in compared:
        sql, ours = examples[col], py[col]
        if col in CTR_ATTRIBUTES:
            pd.testing.assert_series_equal(sql.reset_index(drop=True), ours, check_names=False)
        else:
            np.testing.assert_allclose(
                pd.to_numeric(ours).to_numpy(float),
                pd.to_numeric(sql).to_numpy(float),
                rtol=1e-5,
                atol=1e-9,
                equal_nan=True,
                err_msg=col,
            )


@pytest.mark.parametrize("mart", ["user_features", "item_features"])
def test_python_reads_dense_indices_from_the_marts(sample_warehouse, mart):
    idx = warehouse.query_df(f"select * from marts.{mart}", sample_warehouse).iloc[:, 0]
    assert sorted(idx) == list(range(len(idx)))
