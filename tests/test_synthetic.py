import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from ml import columns as C
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
