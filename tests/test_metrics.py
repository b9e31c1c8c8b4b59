"""Metrics against hand-computed values (see the numbers in each comment)."""

import math

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.metrics import ndcg_score

from ml.evaluation import metrics as M
from ml.evaluation.protocol import ranking_rows

# user 0: relevant {2, 3, 10}, recs [1, 2, 3] -> hits at ranks 2 and 3
# user 1: relevant {4}, only two recs [4, 5] (fewer than k) -> hit at rank 1
# user 2: no relevant item -> excluded from every mean
RECS = np.array([[1, 2, 3], [4, 5, -1], [7, 8, 9]])
REL = sp.csr_matrix(([1, 1, 1, 1], ([0, 0, 0, 1], [2, 3, 10, 4])), shape=(3, 11))


@pytest.fixture
def h():
    return M.hits(RECS, REL)


def means(h, n_rel, k: int) -> dict[str, float]:
    """Each ranking metric's mean over the users with a relevant item, as the evaluation reports it."""
    return {metric: value for metric, _, value, _, _ in ranking_rows(h, n_rel, [k])}


def test_hits_and_counts(h):
    assert h.tolist() == [[False, True, True], [True, False, False], [False, False, False]]
    assert M.n_relevant(REL).tolist() == [3, 1, 0]


def test_precision_recall_hit_rate(h):
    n_rel = M.n_relevant(REL)
    np.testing.assert_allclose(M.precision_at_k(h, 3), [2 / 3, 1 / 3, 0])
    np.testing.assert_allclose(M.recall_at_k(h, n_rel, 3), [2 / 3, 1, 0])
    reported = means(h, n_rel, 3)  # user 2 has no relevant item: not in any mean
    assert reported["precision"] == pytest.approx(0.5)
    assert reported["recall"] == pytest.approx(5 / 6)
    assert reported["hit_rate"] == 1.0
    # k = 1: only user 1 hits at rank 1
    np.testing.assert_allclose(M.precision_at_k(h, 1), [0, 1, 0])


def test_ndcg_hand_computed_and_matches_sklearn(h):
    n_rel = M.n_relevant(REL)
    dcg0 = 1 / math.log2(3) + 1 / math.log2(4)
    idcg0 = 1 + 1 / math.log2(3) + 1 / math.log2(4)
    np.testing.assert_allclose(M.ndcg_at_k(h, n_rel, 3), [dcg0 / idcg0, 1.0, 0.0])
    # sklearn on user 0 as a dense ranking: items 1, 2, 3 scored 3, 2, 1, the rest 0
    y_true = np.zeros((1, 11))
    y_true[0, [2, 3, 10]] = 1
    y_score = np.zeros((1, 11))
    y_score[0, [1, 2, 3]] = [3, 2, 1]
    assert M.ndcg_at_k(h, n_rel, 3)[0] == pytest.approx(ndcg_score(y_true, y_score, k=3))


def test_map_and_mrr(h):
    n_rel = M.n_relevant(REL)
    # user 0: precision@2 = 1/2, precision@3 = 2/3 at the hits, divided by min(3, 3)
    np.testing.assert_allclose(M.map_at_k(h, n_rel, 3), [(1 / 2 + 2 / 3) / 3, 1.0, 0.0])
    np.testing.assert_allclose(M.mrr_at_k(h, 3), [0.5, 1.0, 0.0])
    assert means(h, n_rel, 3)["mrr"] == pytest.approx(0.75)


def test_user_without_relevant_items_and_empty_input():
    h = np.zeros((1, 3), dtype=bool)
    assert M.ndcg_at_k(h, np.array([0]), 3).tolist() == [0.0]
    assert all(math.isnan(v) for v in means(h, np.array([0]), 3).values())  # nobody to average over
    # no users at all: empty hits, and every metric unknown, interval included
    empty = M.hits(np.zeros((0, 3), dtype=np.int64), sp.csr_matrix((0, 11)))
    assert empty.shape == (0, 3)
    rows = ranking_rows(empty, np.zeros(0, dtype=np.int64), [3])
    assert len(rows) == len(M.RANKING) and all(math.isnan(x) for row in rows for x in row[2:])


def test_beyond_accuracy():
    assert M.catalogue_coverage(RECS, 11) == pytest.approx(8 / 11)
    # items 0 and 1 share a category, item 2 does not: pairwise similarities 1, 0, 0 -> diversity 2/3
    vectors = np.array([[1, 0], [1, 0], [0, 1]])
    assert M.intra_list_diversity(np.array([[0, 1, 2]]), vectors) == pytest.approx(2 / 3)
    # popularity 1 and 4 of 4 users: self-information 2 and 0 bits
    assert M.novelty(np.array([[0, 1]]), np.array([1, 4]), 4) == pytest.approx(1.0)


def test_ctr_metrics_via_sklearn():
    labels = np.array([0, 0, 1, 1])
    assert M.roc_auc(labels, np.array([0.1, 0.4, 0.35, 0.8])) == pytest.approx(0.75)
    assert M.log_loss(labels, np.array([0.5, 0.5, 0.5, 0.5])) == pytest.approx(math.log(2))
