"""RP3beta on a matrix small enough to walk by hand."""

import numpy as np
import scipy.sparse as sp

from ml.recommenders import RP3betaRecommender
from ml.recommenders.rp3beta import BLOCK, rp3beta_neighbours

# users x items, binary: u0 chose i0 and i1, u1 chose i1 and i2, u2 chose i1
X = sp.csr_matrix(np.array([[1, 1, 0], [0, 1, 1], [0, 1, 0]], dtype=np.float32))


def test_hand_computed_walk_with_and_without_the_popularity_penalty():
    # P_ui rows: u0 [.5 .5 0], u1 [0 .5 .5], u2 [0 1 0]; P_iu rows: i0 [1 0 0], i1 [1/3 1/3 1/3], i2 [0 1 0]
    # W = P_iu P_ui: i0 -> u0's row, i1 -> the mean of the three, i2 -> u1's row; diagonal zeroed
    walk = np.array([[0, 1 / 2, 0], [1 / 6, 0, 1 / 6], [0, 1 / 2, 0]])
    np.testing.assert_allclose(rp3beta_neighbours(X, alpha=1.0, beta=0.0, k=2).toarray(), walk, rtol=1e-6)
    # beta = 1: each column divided by its item's users (1, 3, 1)
    np.testing.assert_allclose(rp3beta_neighbours(X, 1.0, 1.0, 2).toarray(), walk / [1, 3, 1], rtol=1e-6)
    # alpha = 2 squares the transition probabilities before the product
    squared = np.array([[0, 1 / 4, 0], [1 / 36, 0, 1 / 36], [0, 1 / 4, 0]])
    np.testing.assert_allclose(rp3beta_neighbours(X, 2.0, 0.0, 2).toarray(), squared, rtol=1e-6)
    # k = 1 keeps each item's best neighbour only (ties to the lower index)
    assert rp3beta_neighbours(X, 1.0, 0.0, 1).toarray().astype(bool).sum(axis=1).tolist() == [1, 1, 1]

    model = RP3betaRecommender(k_neighbors=2, beta=0.0).fit(X)
    np.testing.assert_allclose(model.score_users(np.array([2, 0])), [walk[1], walk[0] + walk[1]], rtol=1e-6)
    items, _ = model.recommend(np.array([0]), 1, exclude=X)
    assert items.tolist() == [[2]]  # the only item u0 has not chosen


def test_blocks_give_the_whole_matrix():
    rng = np.random.default_rng(0)
    big = sp.random(300, BLOCK + 77, density=0.02, random_state=rng, format="csr")
    big.data[:] = 1
    whole = rp3beta_neighbours(big, 0.8, 0.4, k=BLOCK + 77)
    # the unblocked formula, dense
    p_ui = big.toarray() / np.maximum(big.sum(axis=1).A, 1e-300)
    p_iu = big.T.toarray() / np.maximum(big.T.sum(axis=1).A, 1e-300)
    dense = (p_ui**0.8)[:, :]
    expected = (p_iu**0.8) @ dense
    popularity = big.sum(axis=0).A.ravel()
    expected = np.where(popularity > 0, expected / np.where(popularity > 0, popularity, 1) ** 0.4, 0)
    np.fill_diagonal(expected, 0)
    np.testing.assert_allclose(whole.toarray(), expected, rtol=1e-5, atol=1e-7)
