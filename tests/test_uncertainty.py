"""Bootstrap intervals and paired comparisons, against values computed by hand or by scipy directly."""

import numpy as np
import pandas as pd
from scipy import stats

from ml import uncertainty


def test_bootstrap_interval_of_constant_values_is_the_value_and_covers_the_mean():
    low, high = uncertainty.bootstrap_ci(np.array([[0.3] * 50, np.r_[np.zeros(50), np.ones(50)][::2]]))
    assert np.isclose(low[0], 0.3) and np.isclose(high[0], 0.3)
    assert low[1] < 0.5 < high[1] and high[1] - low[1] < 0.4
    nan_low, _ = uncertainty.bootstrap_ci(np.array([[0.1]]))  # one user: no interval
    assert np.isnan(nan_low).all()


def test_bootstrap_is_seeded():
    values = np.random.default_rng(1).random((2, 300))
    a, b = uncertainty.bootstrap_ci(values, seed=3), uncertainty.bootstrap_ci(values, seed=3)
    np.testing.assert_array_equal(a[0], b[0])


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
