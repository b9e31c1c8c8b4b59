import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from ml import columns as C
from ml.evaluation.oracle import OracleScorer
from ml.ingest.synthetic import GroundTruth, SyntheticConfig, generate

SMALL = SyntheticConfig(n_users=400, n_items=300, n_days=30, seed=7)


def test_same_seed_same_data_other_seed_other_data():
    a, b, c = generate(SMALL), generate(SMALL), generate(SyntheticConfig(**{**SMALL.__dict__, "seed": 8}))
    pd.testing.assert_frame_equal(a.events, b.events)
    pd.testing.assert_frame_equal(a.items, b.items)
    np.testing.assert_array_equal(a.ground_truth.click_probability, b.ground_truth.click_probability)
    assert not a.events[C.ITEM_ID].equals(c.events[C.ITEM_ID])


def test_funnel_narrows_and_popularity_is_skewed():
    d = generate(SMALL)
    counts = d.events[C.EVENT_TYPE].value_counts()
    assert counts["impression"] > counts["view"] > counts["click"] > counts["add_to_cart"] > counts["purchase"] > 0
    per_item = d.events[d.events[C.EVENT_TYPE] == "impression"][C.ITEM_ID].value_counts()
    top_decile = per_item.iloc[: len(per_item) // 10].sum() / per_item.sum()
    assert top_decile > 0.3  # a power law, not a uniform catalogue (uniform would give 0.1)
    per_user = d.events[C.USER_ID].value_counts()
    assert per_user.quantile(0.9) > 4 * per_user.quantile(0.1)  # very different activity levels


def test_items_appear_only_after_release_and_some_are_new():
    d = generate(SMALL)
    ev = d.events.merge(d.items, on=C.ITEM_ID)
    assert (ev[C.EVENT_AT] >= ev["released_at"]).all()
    start = pd.Timestamp(SMALL.start_date)
    assert (d.items["released_at"] > start).sum() > 0.1 * len(d.items)
    assert (d.users["signup_at"] > start).sum() > 0.05 * len(d.users)


def test_ground_truth_explains_clicks(tmp_path):
    d = generate(SMALL)
    ev = d.events
    imp = ev[ev[C.EVENT_TYPE] == "impression"]
    clicks = set(map(tuple, ev[ev[C.EVENT_TYPE] == "click"][[C.USER_ID, C.ITEM_ID]].to_numpy()))
    label = np.array([(u, i) in clicks for u, i in imp[[C.USER_ID, C.ITEM_ID]].to_numpy()])
    gt = d.ground_truth
    prob = pd.Series(gt.click_probability, index=gt.impression_event_ids).loc[imp[C.EVENT_ID]].to_numpy()
    assert roc_auc_score(label, prob) > 0.65
    # clicked pairs have a higher true affinity than the average exposed pair
    gt.save(tmp_path / "gt.npz")
    loaded = GroundTruth.load(tmp_path / "gt.npz")
    np.testing.assert_array_equal(loaded.user_vectors, gt.user_vectors)
    aff = loaded.affinity(imp[C.USER_ID].to_numpy() - 1)[np.arange(len(imp)), imp[C.ITEM_ID].to_numpy() - 1]
    assert aff[label].mean() > aff[~label].mean() + 0.3


def followed_by_successor(data, successor) -> float:
    """Share of a user's consecutive views where the second is the first's successor."""
    views = data.events[data.events.event_type == "view"].sort_values(["user_id", "event_at", "event_id"])
    rows = pd.Index(data.items.item_id).get_indexer(views.item_id)
    same_user = views.user_id.to_numpy()[1:] == views.user_id.to_numpy()[:-1]
    return float(np.mean((successor[rows[:-1]] == rows[1:])[same_user]))


def test_a_world_with_order_follows_its_transitions_and_the_oracle_knows_them(tmp_path):
    small = {"n_users": 400, "n_items": 200, "n_days": 30}
    plain = generate(SyntheticConfig(**small))
    ordered = generate(SyntheticConfig(**small, transition_share=0.3))
    successor = ordered.ground_truth.successor
    assert len(plain.ground_truth.successor) == 0 and len(successor) == 200
    category = ordered.items.category.to_numpy()
    assert (successor != np.arange(200)).all() and (category[successor] == category).all()  # another item, same category
    assert followed_by_successor(ordered, successor) > 10 * followed_by_successor(plain, successor)
    # the truth travels with its order; a truth saved before order existed loads without it
    ordered.ground_truth.save(tmp_path / "gt.npz")
    loaded = GroundTruth.load(tmp_path / "gt.npz")
    assert np.array_equal(loaded.successor, successor) and loaded.transition_boost == 1.5
    old = {k: v for k, v in np.load(tmp_path / "gt.npz").items() if k not in ("successor", "transition_boost")}
    np.savez(tmp_path / "old.npz", **old)
    assert len(GroundTruth.load(tmp_path / "old.npz").successor) == 0
    # the oracle adds the boost to the successor of each user's last step, and nothing without one
    oracle = OracleScorer(loaded, loaded.user_ids[:2], loaded.item_ids, last_items=np.array([5, -1]))
    gap = oracle.score_users(np.array([0, 1])) - loaded.affinity(np.array([0, 1]))
    assert gap[0, successor[5]] == pytest.approx(1.5) and np.count_nonzero(gap) == 1
