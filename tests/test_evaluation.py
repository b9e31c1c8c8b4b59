import numpy as np
import pandas as pd
import scipy.sparse as sp

from ml.evaluation.protocol import evaluate, recommend_with_fallback, relevant_items, window_id
from ml.interactions import InteractionData
from ml.recommenders import PopularityRecommender
from tests.conftest import FixedScorer


def tiny_data():
    # user 0 warm (train item 0, test items 0 and 1 -> relevant {1}); user 1 cold (test item 2)
    # user 2 has no test items. Item 3 is new.
    train = sp.csr_matrix(([1.0, 1.0], ([0, 2], [0, 1])), shape=(3, 4))
    test = sp.csr_matrix(([2.0, 2.0, 1.0], ([0, 0, 1], [0, 1, 2])), shape=(3, 4))
    users = pd.DataFrame({"user_idx": range(3), "user_id": [10, 11, 12]})
    items = pd.DataFrame({"item_idx": range(4), "item_id": [1, 2, 3, 4], "category": list("aabb"), "is_new_item": [0, 0, 0, 1]})
    return InteractionData(train=train, test=test, users=users, items=items)


def test_relevant_items_exclude_train_items():
    assert relevant_items(tiny_data()).toarray().tolist() == [[0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 0]]


def test_cold_users_get_the_fallback_and_slices_are_split():
    data = tiny_data()
    model = FixedScorer([[9, 1, 5, 0], [0, 0, 0, 9], [0, 0, 0, 0]])
    pop = PopularityRecommender().fit(data.train)
    items, _, cold = recommend_with_fallback(model, pop, np.array([0, 1]), 1, data.train)
    assert cold.tolist() == [False, True]
    assert items[:, 0].tolist() == [2, 0]  # user 0: item 0 excluded, then item 2; user 1: popularity
    res = evaluate(model, data, fallback=pop, k_values=(1, 2)).set_index(["slice", "metric", "k"])["value"]
    # user 0 top-2 = [2, 1]: relevant item 1 at rank 2 -> ndcg@2 = (1/log2 3) / 1
    assert res[("warm_users", "ndcg", 2)] == np.float64(1 / np.log2(3))
    assert res[("warm_users", "hit_rate", 1)] == 0.0
    # user 1 (cold) gets popularity [0, 1, ...]; relevant item 2 is not in its top 2
    assert res[("cold_users", "recall", 2)] == 0.0
    assert res[("all", "recall", 2)] == 0.5


def test_the_test_window_id_names_the_test_rows_by_id_in_any_order():
    data = tiny_data()
    window = window_id(data)
    # the same rows with the users and the items indexed the other way round
    order_u, order_i = [2, 0, 1], [3, 2, 1, 0]
    test = data.test.tocoo()
    reindexed = InteractionData(
        train=data.train[order_u][:, order_i],
        test=sp.csr_matrix(
            (test.data, ([order_u.index(r) for r in test.row], [order_i.index(c) for c in test.col])), shape=(3, 4)
        ),
        users=data.users.iloc[order_u].reset_index(drop=True),
        items=data.items.iloc[order_i].reset_index(drop=True),
    )
    assert window_id(reindexed) == window
    moved = data.test.tolil()
    moved[1, 2], moved[1, 3] = 0, 1.0  # user 11's test event on another item: another window
    assert window_id(InteractionData(data.train, sp.csr_matrix(moved), data.users, data.items)) != window
    heavier = data.test.copy()
    heavier.data[0] = 3.0  # another event on the same pair
    assert window_id(InteractionData(data.train, heavier, data.users, data.items)) != window
