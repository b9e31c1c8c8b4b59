"""Bootstrap intervals and paired comparisons, against values computed by hand or by scipy directly."""

import numpy as np
import pandas as pd
from scipy import stats

from ml.evaluation import uncertainty


def test_bootstrap_interval_of_constant_values_is_the_value_and_covers_the_mean():
    coin = np.r_[np.zeros(50), np.ones(50)][::2]  # 50 users, half of them 1: mean 0.5
    low, high = uncertainty.bootstrap_ci(np.array([[0.3] * 50, coin]))
    assert np.isclose(low[0], 0.3) and np.isclose(high[0], 0.3)
    # the percentile interval of a mean of 50 coin flips: about 0.5 -+ 1.96 * 0.5 / sqrt(50) = [0.36, 0.64]
    half_width = 1.96 * 0.5 / np.sqrt(50)
    assert abs(low[1] - (0.5 - half_width)) < 0.03 and abs(high[1] - (0.5 + half_width)) < 0.03
    one_low, one_high = uncertainty.bootstrap_ci(np.array([[0.1]]))  # one user: no interval
    assert np.isnan(one_low).all() and np.isnan(one_high).all()


def test_bootstrap_is_seeded():
    values = np.random.default_rng(1).random((2, 300))
    (a_low, a_high), (b_low, b_high) = uncertainty.bootstrap_ci(values, seed=3), uncertainty.bootstrap_ci(values, seed=3)
    np.testing.assert_array_equal(a_low, b_low)
    np.testing.assert_array_equal(a_high, b_high)
    other_low, other_high = uncertainty.bootstrap_ci(values, seed=4)  # another seed resamples other users
    assert not np.array_equal(a_low, other_low) and not np.array_equal(a_high, other_high)


def test_paired_comparison_pairs_by_user_and_matches_scipy():
    mine = pd.Series([0.5, 0.4, 0.9, 0.2, 0.7], index=[1, 2, 3, 4, 5])
    theirs = pd.Series([0.3, 0.4, 0.5, 0.1, 0.9, 0.8], index=[5, 2, 3, 4, 1, 99])  # other order, one extra user
    c = uncertainty.paired_comparison(mine, theirs)
    diffs = np.array([0.5 - 0.9, 0.4 - 0.4, 0.9 - 0.5, 0.2 - 0.1, 0.7 - 0.3])
    assert c.n_users == 5
    assert np.isclose(c.diff, diffs.mean())
    assert np.isclose(c.p_value, stats.ttest_rel(diffs, np.zeros(5)).pvalue)
    assert c.ci_low <= c.diff <= c.ci_high
    assert c.verdict() == "no significant difference"
    same = uncertainty.paired_comparison(mine, mine)
    assert same.diff == 0 and same.p_value == 1.0 and same.verdict() == "no significant difference"
    assert uncertainty.paired_comparison(mine, pd.Series([0.1], index=[7])).verdict() == "not comparable"
