"""Two-tower and CTR models on tiny data: shapes, the loss, negative sampling, determinism, save/load."""

import math

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch

from ml.ctr.deep import CTRModel
from ml.ctr.features import split_examples
from ml.evaluation.metrics import ctr_report
from ml.models import load_model
from ml.neural import TabularEncoder
from ml.recommenders.two_tower import TwoTowerRecommender, sample_negatives, sampled_softmax_loss, seen_mask
from tests.conftest import declared


def tiny_features(n_users=80, n_items=40, seed=0):
    """Random values for every feature the marts declare for the two-tower, and a learnable taste."""
    rng = np.random.default_rng(seed)
    user_set, item_set = (declared()[m].for_model("two_tower") for m in ("user_features", "item_features"))
    users = pd.DataFrame({c: rng.random(n_users) for c in user_set.numeric})
    for c in user_set.categorical:
        users[c] = rng.choice(["a", "b", "c"], n_users)
    items = pd.DataFrame({c: rng.random(n_items) for c in item_set.numeric})
    for c in item_set.categorical:
        items[c] = rng.choice(["x", "y"], n_items)
    # users of segment "a" like even items, others odd items: learnable from features
    like_even = (users["segment"] == "a").to_numpy()
    rows, cols = [], []
    for u in range(n_users - 5):  # the last 5 users are cold (no history)
        pool = np.arange(0, n_items, 2) if like_even[u] else np.arange(1, n_items, 2)
        chosen = rng.choice(pool, 5, replace=False)
        rows += [u] * 5
        cols += chosen.tolist()
    train = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(n_users, n_items))
    return train, users, items, like_even


def test_encoder_handles_unknown_categories_and_missing_numbers():
    enc = TabularEncoder(["x"], ["c"]).fit(pd.DataFrame({"x": [1.0, 3.0], "c": ["a", "b"]}))
    num, cat = enc.transform(pd.DataFrame({"x": [np.nan, 3.0], "c": ["zzz", "b"]}))
    assert num[0, 0] == 0.0 and num[1, 0] > 0
    assert cat[:, 0].tolist() == [0, 2]
    assert TabularEncoder.from_dict(enc.to_dict()).transform(pd.DataFrame({"x": [3.0], "c": ["a"]}))[1][0, 0] == 1


def test_sampled_softmax_loss_by_hand():
    # two users, two positives, one negative; temperature 1, no logQ
    u = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    i = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    n = torch.tensor([[1.0, 1.0]])
    zeros2, zeros1 = torch.zeros(2), torch.zeros(1)
    loss = sampled_softmax_loss(u, i, n, zeros2, zeros1, torch.tensor([0, 1]), torch.zeros(2, 1, dtype=torch.bool), 1.0)
    # each row: logits [1, 0, 1] with the positive first -> -log(e / (2e + 1))
    assert float(loss) == pytest.approx(-math.log(math.e / (2 * math.e + 1)), rel=1e-5)
    # masking the negative as "seen" for both users removes it from the softmax
    masked = sampled_softmax_loss(u, i, n, zeros2, zeros1, torch.tensor([0, 1]), torch.ones(2, 1, dtype=torch.bool), 1.0)
    assert float(masked) == pytest.approx(-math.log(math.e / (math.e + 1)), rel=1e-5)
    # logQ: item 1 has log q = 2, so every logit of item 1 drops by 2. Row 0: batch [1, -2], negative 1,
    # positive item 0; row 1: batch [0, -1], negative 1, positive item 1
    corrected = sampled_softmax_loss(
        u, i, n, torch.tensor([0.0, 2.0]), zeros1, torch.tensor([0, 1]), torch.zeros(2, 1, dtype=torch.bool), 1.0
    )
    row0 = -math.log(math.e / (math.e + math.exp(-2) + math.e))
    row1 = -math.log(math.exp(-1) / (1 + math.exp(-1) + math.e))
    assert float(corrected) == pytest.approx((row0 + row1) / 2, rel=1e-5)


def test_hard_negatives_are_popular_and_seen_ones_are_masked():
    rng = np.random.default_rng(0)
    pop = np.array([100.0] * 5 + [1.0] * 95)
    p = pop / pop.sum()
    items, q = sample_negatives("hard", 2000, p, rng)
    assert np.isin(items, np.arange(5)).mean() > 0.8  # popular items dominate
    np.testing.assert_allclose(q, p[items])
    rand_items, _ = sample_negatives("random", 2000, p, rng)
    assert np.isin(rand_items, np.arange(5)).mean() < 0.15
    train = sp.csr_matrix(([1.0], ([0], [3])), shape=(2, 100))
    mask = seen_mask(train, np.array([0, 1]), np.array([3, 4]))
    assert mask.tolist() == [[True, False], [False, False]]
    with pytest.raises(ValueError):
        sample_negatives("easy", 1, p, rng)


@pytest.fixture(scope="module")
def trained():
    train, users, items, like_even = tiny_features()
    kw = dict(embedding_dim=8, hidden=16, epochs=30, batch_size=64, n_negatives=16, seed=1)
    a = TwoTowerRecommender(**kw).fit(train, user_features=users, item_features=items, features=declared())
    b = TwoTowerRecommender(**kw).fit(train, user_features=users, item_features=items, features=declared())
    return a, b, train, like_even


def test_two_tower_learns_deterministically_and_round_trips(trained, tmp_path):
    a, b, train, like_even = trained
    np.testing.assert_array_equal(a.item_embeddings, b.item_embeddings)
    assert a.history[-1]["loss"] < a.history[0]["loss"]
    items, scores = a.recommend(np.arange(10), 5, exclude=train)
    assert items.shape == (10, 5) and not any(set(items[u]) & set(train[u].indices) for u in range(10))
    parity = (items % 2 == 0).mean(axis=1)
    assert (parity[like_even[:10]] > 0.6).all() and (parity[~like_even[:10]] < 0.4).all()
    loaded = load_model(a.save(tmp_path / "tt"))
    recorded = {mart: fs.to_dict() for mart, fs in loaded.features.items()}
    assert recorded == {mart: fs.to_dict() for mart, fs in a.features.items()} and recorded["user_features"]["features"]
    np.testing.assert_array_equal(loaded.recommend(np.arange(10), 5, exclude=train)[0], items)
    sims, _ = a.similar_items([0], 3)
    assert 0 not in sims[0]


def test_two_tower_cold_users_are_served_from_features(trained):
    a, _, train, like_even = trained
    cold = np.arange(train.shape[0] - 5, train.shape[0])
    assert (np.diff(train.indptr)[cold] == 0).all()
    items, _ = a.recommend(cold, 5)
    parity = (items % 2 == 0).mean(axis=1)
    # segment "a" cold users get mostly even items, the others mostly odd ones
    assert ((parity > 0.5) == like_even[cold]).mean() >= 0.8


def tiny_ctr(n=3000, seed=0):
    """Random values for every declared CTR feature; clicks follow two of them."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({c: rng.random(n) for c in declared()["ctr_examples"].numeric})
    for c in declared()["ctr_examples"].categorical:
        frame[c] = rng.choice(["p", "q", "r"], n)
    logit = 4 * (frame["user_category_share"] - 0.5) + np.where(frame["category"] == "p", 1.0, -1.0)
    frame["clicked"] = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    frame["split"] = np.where(np.arange(n) < 2000, "train", "test")
    frame["snapshot_at"] = pd.to_datetime(np.where(np.arange(n) < 1500, "2026-01-01", "2026-01-08"))
    frame["event_id"] = np.arange(n)
    return frame


@pytest.mark.parametrize("arch", ["dcn", "mlp"])
def test_ctr_models_learn_and_round_trip(arch, tmp_path):
    train, val, test = split_examples(tiny_ctr())
    assert len(train) == 1500 and len(val) == 500 and len(test) == 1000
    features = declared()["ctr_examples"].for_model("dcn")
    model = CTRModel(arch, epochs=8, batch_size=128, seed=3).fit(train, val, features)
    p = model.predict_proba(test)
    report = ctr_report(test["clicked"].to_numpy(), p)
    assert report["auc"] > 0.7 and 0 < report["log_loss"] < 0.7
    assert 1 <= model.best_epoch <= len(model.history)
    again = CTRModel(arch, epochs=8, batch_size=128, seed=3).fit(train, val, features).predict_proba(test)
    np.testing.assert_array_equal(p, again)
    loaded = load_model(model.save(tmp_path / arch))
    np.testing.assert_allclose(loaded.predict_proba(test), p, rtol=1e-6)


def test_epochs_take_slices_of_shuffled_passes_when_the_data_is_larger():
    from ml.neural import epoch_orders

    rng = np.random.default_rng(0)
    orders = list(epoch_orders(10, 4, 5, rng.permutation))
    assert [len(o) for o in orders] == [4] * 5
    stream = np.concatenate(orders)
    assert sorted(stream[:10]) == list(range(10))  # every example once before any twice
    assert sorted(stream[10:20]) == list(range(10))
    whole = list(epoch_orders(10, 0, 2, np.random.default_rng(0).permutation))
    assert [sorted(o) for o in whole] == [list(range(10))] * 2
    assert [o.tolist() for o in whole] == [o.tolist() for o in epoch_orders(10, 50, 2, np.random.default_rng(0).permutation)]
