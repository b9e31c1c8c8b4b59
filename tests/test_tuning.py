"""Tuning chooses on the validation window only: trial 0 is the default, the choice is at least as
good on validation, it is reproducible, and the test window is never read."""

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from ml import tuning
from ml.interactions import InteractionData


def clustered_data(n_users=120, n_items=60, seed=0) -> InteractionData:
    """Users of 3 tastes; each interacts with items of its cluster; the last 3 of each go to validation."""
    rng = np.random.default_rng(seed)
    fit, val = np.zeros((n_users, n_items), np.float32), np.zeros((n_users, n_items), np.float32)
    for u in range(n_users):
        items = rng.choice(np.arange(u % 3, n_items, 3), 10, replace=False)
        fit[u, items[:7]], val[u, items[7:]] = 1, 1
    fit, val = sp.csr_matrix(fit), sp.csr_matrix(val)
    users = pd.DataFrame({"user_idx": np.arange(n_users), "user_id": np.arange(n_users) + 1})
    items = pd.DataFrame({"item_idx": np.arange(n_items), "item_id": np.arange(n_items) + 1})
    test = sp.csr_matrix((n_users, n_items), dtype=np.float32)
    return InteractionData(train=fit + val, test=test, users=users, items=items, fit=fit, validation=val)


@pytest.mark.parametrize("name", ["als", "ease"])
def test_tuning_starts_from_the_default_and_is_reproducible(name):
    data = clustered_data()
    result = tuning.tune_recommender(name, data, {}, n_trials=5, seed=1)
    first = result.trials.iloc[0]
    assert all(first[p] == tuning.default_params(name)[p] for p in tuning.SPACES[name])
    assert np.isclose(first["validation_ndcg@10"], result.default_value)
    assert result.value >= result.default_value and len(result.trials) == 5
    again = tuning.tune_recommender(name, data, {}, n_trials=5, seed=1)
    assert again.params == result.params and again.value == result.value


def test_larger_data_is_tuned_on_a_seeded_sample_of_users_and_the_most_chosen_items():
    data = clustered_data()
    sampled = data.tuning(max_users=30, seed=4)
    users = np.flatnonzero(np.diff(sampled.train.indptr))
    assert len(users) == 30 and np.array_equal(users, np.flatnonzero(np.diff(sampled.test.indptr)))
    np.testing.assert_array_equal(sampled.train[users].toarray(), data.fit[users].toarray())
    view = data.tuning(max_users=30, max_items=9, seed=4)
    assert view.train.shape == data.fit.shape and view.test.shape == data.validation.shape
    chosen = np.asarray((data.fit[users] > 0).sum(axis=0)).ravel()
    items = np.unique(view.train.indices)
    assert len(items) == 9 and chosen[items].min() >= np.delete(chosen, items).max()
    np.testing.assert_array_equal(view.train[:, items].toarray(), sampled.train[:, items].toarray())
    assert set(np.unique(view.test.indices)) <= set(items) and set(view.test.tocoo().row) <= set(users)
    assert np.array_equal(data.tuning(30, 9, seed=4).train.indices, view.train.indices)
    assert data.tuning(1000, 1000).train.nnz == data.fit.nnz
    result = tuning.tune_recommender("als", data, {}, n_trials=2, max_users=30, max_items=60)
    assert result.sample == "a sample: 30 of 120 users, 60 of 60 items"


def test_tuning_never_reads_the_test_window():
    data = clustered_data()
    chosen = tuning.tune_recommender("ease", data, {}, n_trials=4, seed=0)
    data.test = sp.csr_matrix(np.ones(data.train.shape, np.float32))  # a test window that would change any score
    assert tuning.tune_recommender("ease", data, {}, n_trials=4, seed=0).params == chosen.params


def test_tuning_without_a_validation_window_says_what_to_set():
    data = clustered_data()
    data.validation = sp.csr_matrix(data.train.shape, dtype=np.float32)
    with pytest.raises(ValueError, match="validation_days"):
        tuning.tune_recommender("als", data, {}, n_trials=2)


@pytest.mark.parametrize(("gain", "adopted"), [(0.0005, False), (0.05, True)])
def test_the_best_trial_replaces_the_defaults_only_when_significantly_better(gain, adopted):
    base = pd.Series(np.random.default_rng(0).random(300) * 0.2)

    def objective(params, trial):  # trial 0 (the defaults) scores base; every other trial base + gain + noise
        if trial.number == 0:
            return base
        return base + gain + np.random.default_rng(trial.number).normal(0, 0.01, len(base))

    result = tuning.run_study("ease", objective, n_trials=4, seed=0)
    assert (result.params != tuning.default_params("ease")) is adopted
    assert ("adopted" in result.decision) is adopted and result.best_vs_default is not None
