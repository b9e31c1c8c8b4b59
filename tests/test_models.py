"""The shared recommender protocol, on small matrices with known answers."""

import numpy as np
import pytest
import scipy.sparse as sp
from implicit.cpu.als import AlternatingLeastSquares
from implicit.nearest_neighbours import CosineRecommender
from threadpoolctl import threadpool_limits

from ml.models import load_model
from ml.recommenders import (
    ALSRecommender,
    CatalogueTooLarge,
    EASERecommender,
    ItemItemRecommender,
    ItemSimilarity,
    PopularityRecommender,
    RP3betaRecommender,
)
from ml.recommenders.base import top_k


def random_matrix(n_users=60, n_items=40, density=0.15, seed=0):
    rng = np.random.default_rng(seed)
    m = sp.random(n_users, n_items, density=density, random_state=rng, format="csr", dtype=np.float32)
    m.data = np.ceil(m.data * 5)
    return m


def test_top_k_orders_breaks_ties_by_index_and_pads():
    items, scores = top_k(np.array([[1, 3, 3, 2], [5, 5, 5, 5], [1, -np.inf, -np.inf, -np.inf]]), 3)
    assert items.tolist() == [[1, 2, 3], [0, 1, 2], [0, -1, -1]]
    assert scores[0].tolist() == [3, 3, 2]


@pytest.mark.parametrize(
    "model",
    [
        PopularityRecommender(),
        ItemItemRecommender(k_neighbors=10),
        ALSRecommender(factors=4),
        EASERecommender(l2=5.0),
        RP3betaRecommender(k_neighbors=10),
    ],
)
def test_protocol_shapes_exclusion_and_save_load(model, tmp_path):
    X = random_matrix()
    model.fit(X)
    users = np.array([0, 5, 7])
    items, scores = model.recommend(users, 5, exclude=X)
    assert items.shape == scores.shape == (3, 5)
    for row, u in zip(items, users, strict=True):
        assert not set(row) & set(X[u].indices)  # seen items excluded
    assert np.all(np.diff(scores, axis=1) <= 0)
    loaded = load_model(model.save(tmp_path / model.name))
    items2, scores2 = loaded.recommend(users, 5, exclude=X)
    np.testing.assert_array_equal(items, items2)
    np.testing.assert_allclose(scores, scores2)
    with pytest.raises(IndexError):
        model.recommend([X.shape[0]], 5)


def test_popularity_ranks_by_users_and_has_no_similar_items():
    X = sp.csr_matrix(np.array([[1, 0, 5, 0], [1, 1, 0, 0], [1, 0, 0, 0]], dtype=np.float32))
    model = PopularityRecommender().fit(X)
    items, _ = model.recommend([2], 3, exclude=X)
    assert items.tolist() == [[2, 1, 3]]  # items 1 and 2 have one user each; item 2 has more weight
    assert not isinstance(model, ItemSimilarity) and not hasattr(model, "similar_items")


def test_exclusion_leaves_fewer_than_k():
    X = sp.csr_matrix(np.array([[1, 1, 1, 0]], dtype=np.float32))
    items, scores = PopularityRecommender().fit(X).recommend([0], 3, exclude=X)
    assert items.tolist() == [[3, -1, -1]] and np.isneginf(scores[0, 1:]).all()


def test_item_item_hand_computed_shrunk_cosine():
    # items 0 and 1 co-occur in users 0 and 1: dot = 2, norms sqrt(2) * sqrt(3) -> 2 / (sqrt(6) + 1)
    X = sp.csr_matrix(np.array([[1, 1, 0], [1, 1, 1], [0, 1, 0]], dtype=np.float32))
    model = ItemItemRecommender(k_neighbors=2, shrinkage=1.0, weighting="raw").fit(X)
    assert model.similarity[0, 1] == pytest.approx(2 / (np.sqrt(6) + 1), rel=1e-6)
    assert model.similarity[0, 0] == 0  # never its own neighbour
    items, _ = model.similar_items([2], 1)
    # item 2 co-occurs once with item 0 (1 / (sqrt 2 + 1) = 0.41) and once with item 1 (1 / (sqrt 3 + 1) = 0.37)
    assert items.tolist() == [[0]]


def test_item_item_matches_implicit_cosine_without_shrinkage():
    X = random_matrix(200, 80, 0.1, seed=1)
    mine = ItemItemRecommender(k_neighbors=10, shrinkage=0.0, weighting="raw").fit(X)
    ref = CosineRecommender(K=11)
    ref.fit(X, show_progress=False)
    for item in range(0, 80, 7):
        ids, sims = ref.similar_items(item, N=11)
        ref_scores = sorted(s for i, s in zip(ids, sims, strict=True) if i != item)[::-1][:10]
        _, my_scores = mine.similar_items([item], 10)
        got = my_scores[0][np.isfinite(my_scores[0])]
        positive = [v for v in ref_scores if v > 0]  # implicit pads with zero-similarity items; we do not
        assert len(got) == min(10, len(positive)) and len(got) > 0, item  # every item here has neighbours
        np.testing.assert_allclose(got, positive[: len(got)], rtol=1e-4)


def test_als_through_protocol_equals_bare_implicit_and_is_deterministic():
    X = random_matrix(100, 50, 0.1, seed=2)
    a = ALSRecommender(factors=8, iterations=5, seed=3).fit(X)
    b = ALSRecommender(factors=8, iterations=5, seed=3).fit(X)
    np.testing.assert_array_equal(a.item_factors, b.item_factors)
    with threadpool_limits(1, "blas"):
        bare = AlternatingLeastSquares(factors=8, iterations=5, random_state=3, regularization=1.0, alpha=1.0)
        bare.fit(X, show_progress=False)
    np.testing.assert_allclose(a.item_factors, bare.item_factors, rtol=1e-5, atol=1e-6)
    items, _ = a.similar_items([0, 1], 3)
    assert items.shape == (2, 3) and 0 not in items[0] and 1 not in items[1]


def test_ease_hand_computed_closed_form_and_memory_limit():
    # items 0 and 1: 3 users each, 2 together; l2 = 1 -> G = [[4, 2], [2, 4]], B01 = -P01 / P11 = 2 / 4
    X = sp.csr_matrix(np.array([[1, 1], [1, 0], [0, 1], [1, 1]], dtype=np.float32))
    model = EASERecommender(l2=1.0).fit(X)
    np.testing.assert_allclose(model.weights, [[0.0, 0.5], [0.5, 0.0]], atol=1e-6)
    np.testing.assert_allclose(model.score_users(np.array([1])), [[0.0, 0.5]], atol=1e-6)
    items, _ = model.similar_items([0], 1)
    assert items.tolist() == [[1]]
    with pytest.raises(CatalogueTooLarge, match="memory_gb"):
        EASERecommender(memory_gb=1e-9).fit(X)
    # an item nobody chose (column 1 here) gets zero weights; the others are the solve without it
    spaced = sp.csr_matrix(np.insert(X.toarray(), 1, 0, axis=1))
    wide = EASERecommender(l2=1.0).fit(spaced)
    np.testing.assert_allclose(wide.weights, [[0.0, 0.0, 0.5], [0.0, 0.0, 0.0], [0.5, 0.0, 0.0]], atol=1e-6)
    # max_items: the solve keeps the most chosen items (item 2 here: 4 users), the others get no weights
    lopsided = sp.csr_matrix(np.array([[1, 1, 1], [1, 0, 1], [0, 1, 1], [1, 1, 1]], dtype=np.float32))
    np.testing.assert_array_equal(EASERecommender(l2=1.0, max_items=1).fit(lopsided).weights, np.zeros((3, 3)))
    two = EASERecommender(l2=1.0, max_items=2).fit(lopsided).weights
    assert two[1].tolist() == [0.0, 0.0, 0.0] and two[0, 2] > 0 and two[2, 0] > 0
