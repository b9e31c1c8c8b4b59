"""Tuning chooses on the validation window only: trial 0 is the default, the choice is at least as
good on validation, it is reproducible, and the test window is never read."""

import time

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from ml import tuning
from ml.evaluation import selection
from ml.interactions import InteractionData
from ml.recommenders.ease import EASERecommender, RegularisationPath


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
    assert ("adopted" in result.decision) is adopted and result.selection.comparison is not None
    assert len(result.stability) == selection.REPEATS


def noise_trials(n_trials: int = 40, n_users: int = 400) -> pd.DataFrame:
    """Trial 0 (the defaults) and trials that only add zero-mean noise per user: none is better, but
    the best of them looks better on the users it was chosen on."""
    rng = np.random.default_rng(4)
    base = rng.random(n_users) * 0.3
    trials = {t: base + (rng.normal(0, 0.05, n_users) if t else 0) for t in range(n_trials)}
    return pd.DataFrame(trials, index=pd.Index(np.arange(n_users) + 1))


def test_the_folds_split_the_users_once_per_seed():
    users = pd.Index(np.arange(1000) * 7)
    folds = selection.fold_of(users, 3)
    assert sorted(folds.index) == sorted(users) and 400 < folds.sum() < 600
    assert folds.equals(selection.fold_of(users[::-1], 3))  # the order of the users does not matter
    assert not folds.equals(selection.fold_of(users, 4))


def test_cross_fitting_scores_each_user_on_the_other_folds_choice():
    users = pd.Index([1, 2, 3, 4, 5, 6])
    folds = selection.fold_of(users, 0)
    # trial 1 is best on fold 0's users, trial 2 on fold 1's
    scores = pd.DataFrame({0: 0.5, 1: np.where(folds == 0, 0.9, 0.1), 2: np.where(folds == 1, 0.8, 0.2)}, index=users)
    values, chosen = selection.cross_fitted_scores(scores, 0)
    assert chosen == (1, 2)
    expected = np.where(folds == 0, scores[2], scores[1])  # fold 0's users get fold 1's choice, and back
    np.testing.assert_array_equal(values.to_numpy(), expected)


def test_the_winner_of_many_noise_trials_is_not_adopted():
    scores = noise_trials()
    assert selection.one_look(scores).confirmed  # the rule it replaces: the luck looks significant
    chosen = selection.select(scores, seed=0)
    assert chosen.best == selection.one_look(scores).best and not chosen.confirmed and chosen.chosen == 0
    assert chosen.comparison.diff < 0.01 and "kept the defaults" in chosen.decision()
    real = len(scores.columns)
    genuine = pd.concat([scores, (scores[0] + 0.02 + np.random.default_rng(5).normal(0, 0.01, len(scores))).rename(real)], axis=1)
    assert selection.select(genuine, seed=0).chosen == real  # a gain on every user is adopted


def test_stability_lists_every_draw():
    chosen = selection.select(noise_trials(), seed=0)
    frame = selection.stability_frame(chosen, {chosen.best: {"l2": 500.0}})
    assert list(frame["draw_seed"]) == list(range(selection.REPEATS)) and frame["p_value"].notna().all()
    assert selection.described({"l2": 500.0, "weighting": "log"}) == "l2=500, weighting=log"
    assert selection.described({}) == "the defaults"


def test_ease_walks_its_regularisation_path_from_one_factorisation():
    data = clustered_data()
    result = tuning.tune_recommender("ease", data, {}, n_trials=100, seed=0)
    grid = tuning.GRIDS["ease"]
    assert len(result.trials) == len(grid["l2"]) * len(grid["weighting"])  # every point once, then it stops
    assert set(result.trials["l2"]) == set(grid["l2"])
    path = RegularisationPath(data.fit, weighting="log")
    for l2 in (5.0, 500.0):
        exact = EASERecommender(l2=l2, weighting="log").fit(data.fit).weights
        np.testing.assert_allclose(path.model(l2).weights, exact, atol=1e-5 * np.abs(exact).max())


def test_trials_in_lanes_make_the_same_study_as_one_at_a_time(monkeypatch):
    """The random-start trials run side by side in threads (finishing in any order); the rest one at a
    time: every trial gets the same parameters and the choice is the same as sequential."""
    users = pd.Index(np.arange(200) + 1)

    def late(suggest):  # later trials reach the sampler first, were they to draw in their threads
        def slowed(trial, name):
            time.sleep(0.03 * (2 - trial.number % 3))
            return suggest(trial, name)

        return slowed

    monkeypatch.setitem(tuning.SPACES, "item_item", {p: late(f) for p, f in tuning.SPACES["item_item"].items()})

    def objective(params, trial):  # slower for some trials, so lanes finish out of order
        time.sleep(0.02 * (trial.number % 3))
        rng = np.random.default_rng(int(params["k_neighbors"]))
        return pd.Series(rng.random(len(users)) * params["shrinkage"] / 200, index=users)

    sequential = tuning.run_study("item_item", objective, n_trials=13, seed=3)
    laned = tuning.run_study("item_item", objective, n_trials=13, seed=3, lanes=3)
    assert laned.trials.drop(columns="seconds").equals(sequential.trials.drop(columns="seconds"))
    assert laned.scores.equals(sequential.scores) and list(laned.scores.columns) == list(range(13))
    assert laned.params == sequential.params and laned.decision == sequential.decision

    def failing(params, trial):
        if trial.number == 2:
            raise RuntimeError("trial 2 broke")
        return objective(params, trial)

    with pytest.raises(RuntimeError, match="trial 2 broke"):
        tuning.run_study("item_item", failing, n_trials=5, seed=3, lanes=2)
