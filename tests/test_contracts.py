"""The SQL <-> Python boundary: the marts' enforced dbt contracts are the one definition of the columns
Python reads, their yml the one declaration of the features models take, and the features of pairs
scored at serving time are the CTR examples' own (the same SQL)."""

import json

import pandas as pd
import pytest
import yaml

from ml import columns, models, settings
from ml.feature_sets import MART_READERS
from ml.ingest import synthetic
from ml.serving.index import ITEM_ATTRIBUTES
from ml.two_stage.features import ITEM_INPUTS
from ml.warehouse import connection as warehouse
from ml.warehouse.marts import candidate_features
from tests.conftest import declared

MARTS_YML = settings.DBT_PROJECT_DIR / "models" / "marts" / "_marts__models.yml"


def contract(mart: str) -> dict[str, str]:
    """The mart's enforced contract as dbt parsed it for the default target (the YAML's types are
    rendered per engine: Spark's text is string, its float double)."""
    manifest = json.loads((settings.DBT_PROJECT_DIR / "target" / "manifest.json").read_text())
    node = manifest["nodes"][f"model.recsys.{mart}"]
    assert node["config"]["contract"]["enforced"] is True
    return {name: column["data_type"] for name, column in node["columns"].items()}


def test_features_are_declared_in_the_mart_contracts_and_reach_their_models():
    features = declared()
    assert set(features) == set(MART_READERS)  # every feature mart declares, and only they
    for mart, declared_set in features.items():
        typed = contract(mart)
        assert set(declared_set.names) <= set(typed), mart
        text = {c for c, t in typed.items() if t == "varchar"}
        assert set(declared_set.categorical) - {"user_idx", "item_idx"} <= text, mart  # categoricals are text but the ids
        for model in MART_READERS[mart]:  # each reader gets a non-empty, ordered part of the declaration
            part = declared_set.for_model(model)
            assert part.names and part.names == [n for n in declared_set.names if n in part.names], (mart, model)
    assert features["ctr_examples"].for_model("lgbm_ctr").names == [
        n for n in features["ctr_examples"].names if n not in ("user_idx", "item_idx")
    ]  # `models:` restricts the ids to the networks
    assert not features["user_features"].for_model("dcn").names  # a model that does not read a mart gets none
    assert set(ITEM_INPUTS + ITEM_ATTRIBUTES) <= set(contract("item_features"))
    for mart in (columns.INTERACTIONS, columns.INTERACTIONS_DAILY):
        assert {columns.USER_IDX, columns.ITEM_IDX, columns.SPLIT, columns.WEIGHT} <= set(contract(mart))


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


def test_serving_features_of_pairs_equal_the_ctr_examples(sample_warehouse):
    """For the test window (features as of the split), the features of (user, item) pairs asked for at
    serving time are the ctr_examples rows of the same pairs: every declared feature and every column."""
    examples = warehouse.query_df("select * from marts.ctr_examples where split = 'test' order by event_id", sample_warehouse)
    examples = examples.drop_duplicates(["user_id", "item_id"]).head(2000)
    served = candidate_features(examples[["user_id", "item_id", "event_hour", "is_weekend"]], sample_warehouse)
    assert set(declared()["ctr_examples"].names) <= set(served.columns)
    shared = [c for c in examples.columns if c in served.columns]
    assert len(shared) == len(examples.columns) - 4  # all but the example's id, time, split and label
    pd.testing.assert_frame_equal(served[shared], examples[shared].reset_index(drop=True), check_dtype=False)


@pytest.mark.parametrize("mart", ["user_features", "item_features"])
def test_python_reads_dense_indices_from_the_marts(sample_warehouse, mart):
    idx = warehouse.query_df(f"select * from marts.{mart}", sample_warehouse).iloc[:, 0]
    assert sorted(idx) == list(range(len(idx)))
