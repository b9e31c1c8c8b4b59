"""Approximate retrieval (ml.ann): the same contract as exact top-k, recall against exact, the index
published with the model and used by the service above its catalogue threshold."""

import numpy as np
import pytest
import scipy.sparse as sp

from ml.recommenders import ALSRecommender, PopularityRecommender
from ml.serving import ann
from ml.serving.publish import publish
from ml.warehouse.marts import load_interactions


def clustered_model(n_users=400, n_items=4000, dim=32, seed=0) -> ALSRecommender:
    """An ALS model with item vectors in clusters and users near them, as trained factors are."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(40, dim))
    items = centres[rng.integers(0, 40, n_items)] + 0.5 * rng.normal(size=(n_items, dim))
    users = centres[rng.integers(0, 40, n_users)] + 0.7 * rng.normal(size=(n_users, dim))
    model = ALSRecommender(factors=dim)
    model.n_users, model.n_items = n_users, n_items
    model.user_factors = users.astype(np.float32)
    model.item_factors = (items * rng.lognormal(0, 0.3, size=(n_items, 1))).astype(np.float32)
    return model


def recall(approx: np.ndarray, exact: np.ndarray) -> float:
    """Mean share of each exact top-k found by the approximate one."""
    shares = [len(set(a[a >= 0]) & set(e[e >= 0])) / max((e >= 0).sum(), 1) for a, e in zip(approx, exact, strict=True)]
    return float(np.mean(shares))


def test_ann_top_k_finds_the_exact_top_k_and_never_returns_a_seen_item():
    model = clustered_model()
    seen = sp.random(model.n_users, model.n_items, density=0.02, format="csr", random_state=1)
    index = ann.build_for(model)
    users = np.arange(model.n_users)
    exact_items, exact_scores = model.recommend(users, 10, exclude=seen)
    items, scores = ann.recommend(model, index, users, 10, exclude=seen)
    assert recall(items, exact_items) >= 0.95
    for u in users:
        assert not set(items[u]) & set(seen.indices[seen.indptr[u] : seen.indptr[u + 1]])
        assert np.all(np.diff(scores[u]) <= 0)  # best first
        # a returned score is the model's own score of that item
        np.testing.assert_allclose(scores[u], model.user_factors[u] @ model.item_factors[items[u]].T, rtol=1e-5)


def test_a_user_who_has_seen_almost_everything_gets_the_unseen_items_padded():
    """Three items left unseen: the index is asked for enough candidates to hold them; the answer is
    padded like exact top-k."""
    model = clustered_model(n_users=3, n_items=300)
    seen = sp.lil_matrix((3, 300))
    seen[1, 3:] = 1  # user 1 has not seen items 0, 1, 2
    seen = seen.tocsr()
    items, scores = ann.recommend(model, ann.build_for(model), [0, 1, 2], 5, exclude=seen)
    exact_items, _ = model.recommend([0, 1, 2], 5, exclude=seen)
    assert sorted(items[1][:3]) == [0, 1, 2] and list(items[1][3:]) == [-1, -1] and np.isneginf(scores[1][3:]).all()
    np.testing.assert_array_equal(items[1], exact_items[1])


class MissingIndex(ann.AnnIndex):
    """An index that finds only its first candidate: what a badly tuned or stale index does."""

    def search(self, queries, k):
        items, scores = super().search(queries, k)
        items[:, 1:], scores[:, 1:] = -1, -np.inf
        return items, scores


def test_users_the_index_answers_short_are_answered_by_exact_search():
    model = clustered_model(n_users=20, n_items=500)
    index = MissingIndex(ann.build_for(model).index)
    items, scores = ann.recommend(model, index, np.arange(20), 10)
    exact_items, exact_scores = model.recommend(np.arange(20), 10)
    np.testing.assert_array_equal(items, exact_items)
    np.testing.assert_allclose(scores, exact_scores, rtol=1e-6)


def test_the_index_is_published_with_embedding_models_and_checked_when_loaded(sample_warehouse, tmp_path):
    data = load_interactions(sample_warehouse)
    als = publish(tmp_path, "als", "v1", ALSRecommender(iterations=3).fit(data.train), data)
    popularity = publish(tmp_path, "popularity", "v1", PopularityRecommender().fit(data.train), data)
    assert (als / ann.FILE).exists() and not (popularity / ann.FILE).exists()
    other = ALSRecommender(iterations=3, factors=8).fit(data.train)
    with pytest.raises(ValueError, match="not built for this model; publish the model again"):
        ann.AnnIndex.load(als, other.item_vectors())


def test_the_service_uses_the_index_above_its_threshold(sample_warehouse, tmp_path, monkeypatch):
    from fastapi.testclient import TestClient

    from service.app import build_app
    from service.registry import Registry

    data = load_interactions(sample_warehouse)
    model = ALSRecommender(iterations=3).fit(data.train)
    publish(tmp_path, "als", "v1", model, data)
    publish(tmp_path, "popularity", "v1", PopularityRecommender().fit(data.train), data)
    warm = data.users.user_id[np.diff(data.train.indptr) > 0].head(50).tolist()
    answers = {}
    for threshold in (10**9, 0):  # above the catalogue: exact; 0: every embedding model through its index
        monkeypatch.setenv("RECSYS_ANN_MIN_ITEMS", str(threshold))
        registry = Registry(tmp_path, sample_warehouse)
        registry.reload(force=True)
        client = TestClient(build_app(registry))
        retrieval = {m["name"]: m["retrieval"] for m in client.get("/models").json()}
        answers[retrieval["als"]] = client.post("/recommendations", json={"user_ids": warm, "model": "als"}).json()["results"]
        assert retrieval["popularity"] == "exact"
    assert set(answers) == {"exact", "ann"}
    got = [[i["item_id"] for i in r["items"]] for r in answers["ann"]]
    want = [[i["item_id"] for i in r["items"]] for r in answers["exact"]]
    assert all(len(g) == 10 for g in got) and recall(np.array(got), np.array(want)) >= 0.95
