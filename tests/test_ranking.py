"""Two-stage ranking: candidate union, leak-free windows, ranker training; content and hybrid models."""

import dataclasses

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from ml import two_stage as R
from ml.models import load_model
from ml.recommenders import ContentRecommender, HybridRecommender
from ml.two_stage import ranker as ranker_module
from ml.two_stage.features import add_features, base_score, binary_labels, candidates
from tests.conftest import FixedScorer as Fixed
from tests.conftest import declared


def attributes() -> R.Attributes:
    """The user and item attributes the marts declare for the ranker (segment, age band; price, category)."""
    return R.Attributes.of(declared())


def test_candidates_are_the_union_with_every_generators_rank():
    history = sp.csr_matrix(([1.0], ([0], [0])), shape=(1, 5))
    gens = {"a": Fixed([[9, 5, 4, 1, 0]]), "b": Fixed([[9, 0, 1, 7, 8]])}
    cands = candidates(gens, history, np.array([0]), 2)
    # item 0 is seen (excluded); a proposes 1, 2; b proposes 4, 3
    assert cands["item"].tolist() == [1, 2, 3, 4]
    assert cands.set_index("item")["a_rank"].to_dict() == {1: 1, 2: 2, 3: 3, 4: 3}  # n + 1 when not proposed
    assert cands.set_index("item")["b_rank"].to_dict() == {1: 3, 2: 3, 3: 2, 4: 1}
    assert cands["n_generators"].tolist() == [1, 1, 1, 1]
    assert np.isnan(cands.set_index("item").loc[3, "a_score"])


def daily_frame():
    days = pd.date_range("2026-01-01", periods=40, freq="D")
    rows = [(u, (u + d) % 6, day, "train" if d < 33 else "test", 1.0, 1) for d, day in enumerate(days) for u in range(4)]
    # impressions only (weight 0): exposure, never an interaction or a label
    rows += [(0, 5, day, "train" if d < 33 else "test", 0.0, 2) for d, day in enumerate(days) if (d + 0) % 6 != 5]
    return pd.DataFrame(rows, columns=["user_idx", "item_idx", "event_day", "split", "weight", "n_impressions"])


def test_label_windows_follow_their_feature_windows_and_never_touch_the_test():
    daily = daily_frame()
    split = pd.Timestamp("2026-02-03")  # day 33
    train, val, test = R.make_windows(daily, 4, 6, split, label_days=7, n_train_windows=2)
    day_of = pd.to_datetime(daily["event_day"])
    for w, label_start, label_end in (
        (train[0], split - pd.Timedelta(days=14), split - pd.Timedelta(days=7)),
        (train[1], split - pd.Timedelta(days=21), split - pd.Timedelta(days=14)),
        (val, split - pd.Timedelta(days=7), split),
    ):
        assert w.cutoff == label_start
        engaged = daily["weight"] > 0
        assert w.history.sum() == (engaged & (day_of < label_start)).sum()  # features strictly before the labels
        assert w.labels.sum() == (engaged & (day_of >= label_start) & (day_of < label_end)).sum()
        assert w.impressions.sum() == daily["n_impressions"][day_of < label_start].sum()
        assert w.history_days == (label_start - pd.Timestamp("2026-01-01")).days
        assert label_end <= split  # no label from the test window
    assert test.labels.sum() == ((daily["split"] == "test") & (daily["weight"] > 0)).sum() and test.cutoff == split


def test_ranker_learns_a_signal_and_ranks_by_it():
    rng = np.random.default_rng(0)
    n_users, per_user = 120, 20
    features = attributes().features
    frame = pd.DataFrame({f: rng.random(n_users * per_user) for f in features})
    frame["user"] = np.repeat(np.arange(n_users), per_user)
    frame["als_rank"] = rng.integers(1, 52, len(frame))
    frame["label"] = (frame["user_category_share"] > 0.8).astype(int) * 2  # relevance follows one feature
    train, val = frame[frame.user < 90], frame[frame.user >= 90]
    model = R.train_ranker(train, val, R.TwoStageParams(seed=1), features)
    pred = model.predict(val[features])
    assert np.corrcoef(pred, val["user_category_share"])[0, 1] > 0.5
    np.testing.assert_array_equal(pred, R.train_ranker(train, val, R.TwoStageParams(seed=1), features).predict(val[features]))


def test_binary_labels_and_the_als_base():
    labels = sp.csr_matrix(([1.0, 5.0, 12.0], ([0, 0, 0], [0, 1, 2])), shape=(1, 4))
    cands = pd.DataFrame({"user": [0, 0, 0, 0], "item": [0, 1, 2, 3], "als_rank": [1, 3, 7, 51]})
    assert binary_labels(cands, labels).tolist() == [1, 1, 1, 0]
    assert binary_labels(cands.iloc[:0], labels).tolist() == []  # no candidates: no labels, no error
    np.testing.assert_allclose(base_score(cands), [-1.0, -2.0, -3.0, -np.log2(52)])


def test_features_do_not_grow_with_the_history_length():
    """The same daily behaviour over 18 or 36 days gives the same features (the test window's history
    is longer than every training window's)."""
    daily = daily_frame()
    users = pd.DataFrame({"segment": ["a", "b", "a", "b"], "age_band": ["x", "x", "y", "y"]})
    items = items_frame().assign(released_at=pd.Timestamp("2025-01-01"))
    cands = pd.DataFrame({"user": [0, 0, 1], "item": [1, 5, 2], "als_score": [2.0, 1.0, 0.5], "als_rank": [1, 2, 1]})
    short, long_ = (
        R.make_windows(daily, 4, 6, pd.Timestamp(s), label_days=7, n_train_windows=1)[1] for s in ("2026-01-26", "2026-02-13")
    )  # histories of 18 and 36 days (whole 6-day cycles)
    a, b = (add_features(cands, w, users, items, attributes()) for w in (short, long_))
    scale_free = ["als_score", "item_users", "user_weight", "pair_impressions", "item_impressions", "user_category_share"]
    pd.testing.assert_frame_equal(a[scale_free], b[scale_free])
    assert a["als_score"].tolist() == [1.0, 0.5, 1.0]  # share of the user's best candidate


def items_frame(n=6):
    return pd.DataFrame(
        {
            "category": ["a", "a", "b", "b", "c", "c"][:n],
            "brand": ["x", "y", "x", "y", "x", "y"][:n],
            "price": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0][:n],
        }
    )


def test_content_recommends_items_like_the_history(tmp_path):
    X = sp.csr_matrix(([1.0], ([0], [0])), shape=(2, 6))  # user 0 saw item 0 (category a, brand x, cheap)
    model = ContentRecommender().fit(X, item_features=items_frame(), features=declared())
    assert model.features["item_features"].names == ["category", "brand", "price"]  # as the item mart declares
    items, _ = model.recommend([0], 2, exclude=X)
    assert items[0, 0] == 1  # the other category-a item (nearest price band) comes first
    loaded = load_model(model.save(tmp_path / "content"))
    np.testing.assert_array_equal(loaded.recommend([0], 2, exclude=X)[0], items)
    with pytest.raises(ValueError, match="item_features"):
        ContentRecommender().fit(X)
    with pytest.raises(ValueError, match="declared features"):
        ContentRecommender().fit(X, item_features=items_frame())


def test_hybrid_blends_and_round_trips(tmp_path):
    rng = np.random.default_rng(0)
    X = sp.random(30, 6, density=0.3, random_state=rng, format="csr", dtype=np.float32)
    hyb = HybridRecommender(alpha=1.0, factors=4, iterations=3).fit(X, item_features=items_frame(), features=declared())
    np.testing.assert_allclose(
        hyb.score_users(np.arange(3)),
        (lambda s: (s - s.mean(1, keepdims=True)) / s.std(1, keepdims=True))(hyb.cf.score_users(np.arange(3))),
        rtol=1e-5,
    )
    loaded = load_model(hyb.save(tmp_path / "hybrid"))
    np.testing.assert_allclose(loaded.score_users(np.arange(3)), hyb.score_users(np.arange(3)), rtol=1e-6)
    # a real blend: alpha 0.3 is 0.3 z(ALS) + 0.7 z(content), each standardised per user
    blend = HybridRecommender(alpha=0.3, factors=4, iterations=3).fit(X, item_features=items_frame(), features=declared())
    users = np.arange(5)

    def z(s):
        return (s - s.mean(1, keepdims=True)) / s.std(1, keepdims=True)

    expected = 0.3 * z(blend.cf.score_users(users)) + 0.7 * z(blend.content.score_users(users))
    np.testing.assert_allclose(blend.score_users(users), expected, rtol=1e-5, atol=1e-6)
    assert not np.allclose(blend.score_users(users), z(blend.cf.score_users(users)), atol=1e-3)


class NoCorrection:
    """A ranker whose trees add nothing: the two-stage list must then be the ALS list."""

    def feature_name(self):
        return attributes().features

    def predict(self, frame):
        return np.zeros(len(frame))


def test_two_stage_adds_the_als_base_at_prediction():
    days = pd.to_datetime(["2026-01-01", "2026-01-02", "2026-01-07", "2026-01-09", "2026-01-10"])
    daily = pd.DataFrame(
        {
            "user_idx": [0, 1, 0, 2, 3],
            "item_idx": [0, 1, 4, 2, 3],
            "event_day": days,
            "split": ["train", "train", "train", "test", "test"],
            "weight": 1.0,
            "n_impressions": 1,
        }
    )
    _, _, test = R.make_windows(daily, 4, 6, pd.Timestamp("2026-01-09"), label_days=1, n_train_windows=1)
    users = pd.DataFrame({"segment": ["a", "b", "a", "b"], "age_band": ["x", "x", "y", "y"]})
    items = items_frame().assign(released_at=pd.Timestamp("2025-01-01"))
    rng = np.random.default_rng(3)
    gens = {name: Fixed(rng.random((4, 6))) for name in R.GENERATORS}
    two = R.TwoStageScorer(gens, NoCorrection(), test, users, items, attributes(), n_candidates=6)
    users_with_history = np.array([0, 1])
    np.testing.assert_array_equal(
        two.recommend(users_with_history, 5, exclude=test.history)[0],
        gens["als"].recommend(users_with_history, 5, exclude=test.history)[0],
    )
    everything = sp.csr_matrix(np.ones((4, 6)))  # nothing left to propose: an empty list, not an error
    assert (
        R.TwoStageScorer(
            gens, NoCorrection(), dataclasses.replace(test, history=everything), users, items, attributes(), 6
        ).recommend(users_with_history, 3)[0]
        == -1
    ).all()


def test_content_works_without_brands_or_prices():
    """Brand and price are optional in the raw contract: a missing value is its own attribute value."""
    X = sp.csr_matrix(np.array([[1, 0, 0, 0, 0, 0], [0, 0, 1, 0, 0, 0]], dtype=np.float32))
    for items in (items_frame().assign(brand=None), items_frame().assign(brand=[None, "y", None, None, "x", "y"], price=np.nan)):
        model = ContentRecommender().fit(X, item_features=items, features=declared())
        recs, scores = model.recommend([0, 1], 2, exclude=X)
        assert recs[0, 0] == 1 and recs[1, 0] == 3 and np.isfinite(scores).all()  # same category first


def test_validation_ndcg_counts_relevant_items_outside_the_candidates():
    # user 0 chose items 1 and 3 in the window (item 3 was never a candidate), and had seen item 2 before
    history = sp.csr_matrix(np.array([[0, 0, 1, 0], [1, 0, 0, 0]], dtype=np.float32))
    labels = sp.csr_matrix(np.array([[0, 1, 1, 1], [0, 0, 1, 0]], dtype=np.float32))
    window = R.Window(history, labels, pd.Timestamp("2026-01-01"), history, history, history, 7)
    val = pd.DataFrame({"user": [0, 0, 1, 1], "item": [0, 1, 2, 3], "label": [0, 1, 1, 0], "als_rank": [1, 2, 1, 2]})

    class Scores:  # ranks item 1 above item 0 for user 0, item 3 above item 2 for user 1
        feature_name_ = attributes().features

        def predict(self, frame):
            return np.array([0.0, 5.0, 0.0, 5.0])

    val = val.assign(**{f: 0.0 for f in attributes().features if f not in val})
    # user 0: hit at rank 1, 2 relevant (items 1, 3) -> 1 / (1 + 1/log2(3)); user 1: hit at rank 2 of 1 -> 1/log2(3)
    expected = np.mean([1 / (1 + 1 / np.log2(3)), 1 / np.log2(3)])
    assert np.isclose(ranker_module.validation_ndcg(Scores(), val, window), expected)


def test_per_user_windows_learn_from_validation_halves_and_never_touch_the_test():
    daily = daily_frame()
    # leave_last_k-like: each user's own boundary; the 3 days before it are validation
    boundary = {0: 30, 1: 33, 2: 36, 3: 38}
    day = (pd.to_datetime(daily["event_day"]) - pd.Timestamp("2026-01-01")).dt.days
    b = daily["user_idx"].map(boundary)
    daily["split"] = np.where(day >= b, "test", np.where(day >= b - 3, "validation", "train"))
    (train,), stop, test = R.per_user_windows(daily, 4, 6, seed=0)
    engaged = daily["weight"] > 0
    for w in (train, stop):
        assert w.history.sum() == (engaged & (daily["split"] == "train")).sum()
    # the validation labels are split between the two halves of the users, nobody in both
    train_users, stop_users = (set(np.flatnonzero(np.diff(w.labels.indptr))) for w in (train, stop))
    assert train_users.isdisjoint(stop_users) and train_users | stop_users == {0, 1, 2, 3}
    assert train.labels.sum() + stop.labels.sum() == (engaged & (daily["split"] == "validation")).sum()
    assert test.history.sum() == (engaged & (daily["split"] != "test")).sum()
    assert test.labels.sum() == (engaged & (daily["split"] == "test")).sum()
    # "recent" is the last week of each user's own history; no impression of the test counts
    u1 = (daily["user_idx"] == 1) & engaged & (daily["split"] != "test") & (day >= boundary[1] - 7)
    assert test.last_days[1].sum() == u1.sum()
    assert test.impressions.sum() == daily["n_impressions"][daily["split"] != "test"].sum()
