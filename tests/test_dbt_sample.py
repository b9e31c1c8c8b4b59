"""The dbt layer on the committed sample: build passes, marts are consistent, quarantine reconciles."""

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ml import columns
from ml.warehouse import connection as warehouse

# events that passed staging and reference a known user and item
USABLE_EVENTS = "(select * from intermediate.int_events_referenced where quarantine_reason is null)"


def q(path, sql):
    return warehouse.query_df(sql, path)


def test_quarantine_reconciles_with_raw_counts(sample_warehouse):
    raw = pd.read_csv("dbt_project/seeds/raw_events.csv", dtype=str, keep_default_na=False)
    staged = q(sample_warehouse, "select count(*) n from intermediate.int_events_referenced where quarantine_reason is null")[
        "n"
    ][0]
    quarantined = q(
        sample_warehouse,
        "select quarantine_reason r, count(*) n from marts.quarantined_rows where source_table = 'events' group by 1",
    ).set_index("r")["n"]
    assert staged + quarantined.sum() == len(raw)
    # exactly one copy of each exact duplicate row is staged, the others are quarantined
    dup_extra = len(raw) - len(raw.drop_duplicates())
    assert quarantined["exact_duplicate"] == dup_extra
    assert quarantined["unknown_event_type"] == (~raw["event_type"].str.strip().str.lower().isin(columns.event_types())).sum()


def test_interaction_matrix_has_dense_indices_and_weights(sample_warehouse):
    users = q(sample_warehouse, "select user_idx, user_id from marts.user_features order by user_idx")
    items = q(sample_warehouse, "select item_idx, item_id from marts.item_features order by item_idx")
    assert users["user_idx"].tolist() == list(range(len(users)))
    assert items["item_idx"].tolist() == list(range(len(items)))
    inter = q(  # the train window: train and validation splits (a pair may have a row in each)
        sample_warehouse,
        "select user_idx, item_idx, user_id, item_id, sum(weight) as weight from marts.interactions "
        "where split in ('train', 'validation') group by all",
    )
    matrix = sp.csr_matrix((inter["weight"], (inter["user_idx"], inter["item_idx"])), shape=(len(users), len(items)))
    assert matrix.nnz == len(inter)
    # recompute one user's weights from the staged events with the default weights
    uid = int(inter.groupby("user_id")["weight"].sum().idxmax())
    ev = q(
        sample_warehouse,
        f"select e.item_id, e.event_type from {USABLE_EVENTS} e, intermediate.int_split_defined s "
        f"where e.user_id = {uid} and e.event_at < s.split_at",
    )
    w = ev["event_type"].map({"impression": 0, "view": 1, "click": 2, "add_to_cart": 3, "purchase": 5})
    expected = w.groupby(ev["item_id"]).sum()
    expected = expected[expected > 0].sort_index()
    got = inter[inter["user_id"] == uid].set_index("item_id")["weight"].sort_index()
    np.testing.assert_allclose(got.to_numpy(), expected.to_numpy())


def test_split_is_the_last_seven_days_after_seven_validation_days(sample_warehouse):
    s = q(sample_warehouse, "select * from intermediate.int_split_defined")
    assert (s["end_at"][0] - s["split_at"][0]) == pd.Timedelta(days=7)
    assert (s["split_at"][0] - s["valid_at"][0]) == pd.Timedelta(days=7)
    windows = q(
        sample_warehouse,
        "select e.split, count(*) n, "
        "sum(case when e.split = case when e.event_at >= s.split_at then 'test' "
        "when e.event_at >= s.valid_at then 'validation' else 'train' end then 0 else 1 end) as misplaced "
        "from intermediate.int_events_weighted e, intermediate.int_split_defined s group by e.split",
    ).set_index("split")
    assert windows["misplaced"].sum() == 0 and (windows["n"] > 0).all() and len(windows) == 3
    assert s["n_test_users"][0] >= s["min_test_users"][0]  # the sample's test window is large enough


def test_ctr_examples_labels_match_clicks_in_window(sample_warehouse):
    ex = q(
        sample_warehouse,
        "select event_id, user_id, item_id, impression_at, clicked, split from marts.ctr_examples order by event_id limit 2000",
    )
    clicks = q(sample_warehouse, f"select user_id, item_id, event_at from {USABLE_EVENTS} where event_type = 'click'")
    merged = ex.merge(clicks, on=["user_id", "item_id"], how="left")
    within = (merged["event_at"] >= merged["impression_at"]) & (
        merged["event_at"] < merged["impression_at"] + pd.Timedelta(minutes=30)
    )
    expected = within.groupby(merged["event_id"]).any().astype(int)
    got = ex.set_index("event_id")["clicked"]
    # the label is also cut at the end of the example's block; only a handful of examples straddle it
    assert (got == expected.loc[got.index]).mean() > 0.99
    assert set(ex["split"]) <= {"train", "test"} and 0.05 < ex["clicked"].mean() < 0.6
