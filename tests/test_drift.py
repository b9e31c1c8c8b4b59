"""The drift check that decides whether a tuning is reused: PSI by hand, no drift on the same data,
drift when users' activity shifts or a feature appears, and the age and the off switch."""

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from ml.interactions import InteractionData
from ml.tuning import drift


def data(seed: int = 0, per_user: int = 6, n_users: int = 400, n_items: int = 80) -> InteractionData:
    rng = np.random.default_rng(seed)
    rows = np.repeat(np.arange(n_users), per_user)
    cols = np.minimum(rng.zipf(1.5, len(rows)), n_items) - 1
    fit = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(n_users, n_items))
    validation = sp.csr_matrix((np.ones(n_users, np.float32), (np.arange(n_users), rng.integers(0, n_items, n_users))), fit.shape)
    users = pd.DataFrame(
        {"user_idx": np.arange(n_users), "user_id": np.arange(n_users) + 1, "segment": rng.choice(["a", "b"], n_users)}
    )
    items = pd.DataFrame(
        {
            "item_idx": np.arange(n_items),
            "item_id": np.arange(n_items) + 1,
            "price": rng.lognormal(3, 1, n_items),
            "title": [f"title {i}" for i in range(n_items)],  # free text: not profiled
            "released_at": pd.Timestamp("2024-01-01"),  # a date: not profiled
        }
    )
    return InteractionData(train=fit + validation, test=validation, users=users, items=items, fit=fit, validation=validation)


def test_psi_by_hand():
    # (0.25 - 0.5) ln(0.25 / 0.5) + (0.75 - 0.5) ln(0.75 / 0.5) = 0.17329 + 0.10137
    assert drift.psi([0.5, 0.5], [0.25, 0.75]) == pytest.approx(0.274653, abs=1e-6)
    assert drift.psi([0.2, 0.3, 0.5], [0.2, 0.3, 0.5]) == 0.0
    assert drift.sampling_psi(10, 80, 80) == pytest.approx(9 * 2 / 80)  # 80 items in deciles: 0.225 by chance


def test_shares_in_the_reference_bins():
    binned = drift.bins("numeric", np.arange(1.0, 101.0))
    assert len(binned["edges"]) == 9 and drift.shares(np.arange(1.0, 101.0), binned) == pytest.approx([0.1] * 10)
    assert drift.shares(np.full(10, 1000.0), binned) == pytest.approx([0] * 9 + [1])  # all above the last decile
    names = drift.bins("categorical", pd.Series(["x", "x", "y", "z"]))
    assert names["names"][0] == "x" and drift.shares(pd.Series(["x", "w"]), {**names, "names": ["x"]}) == [0.5, 0.5]


def test_the_same_data_has_not_drifted_and_its_choice_is_reused():
    d = data()
    profile = drift.profile(d)
    assert "item title" not in profile and "item released_at" not in profile and "item price" in profile
    assert set(drift.drift(profile, d).values()) == {0.0}
    keep, why, psis = drift.reuse(profile, datetime.now(UTC) - timedelta(days=2), d, 0.1, 7)
    assert keep and "no drift" in why and max(psis.values()) == 0.0
    keep, _, _ = drift.reuse(profile, datetime.now(UTC), data(seed=1), 0.1, 7)  # another draw of the same world
    assert keep


def test_users_twice_as_active_are_drift_and_it_says_where():
    then, now = data(), data(per_user=12)
    keep, why, psis = drift.reuse(drift.profile(then), datetime.now(UTC), now, 0.1, 7)
    assert not keep and psis["interactions per user"] > 0.1 and "interactions per user" in why


def test_a_new_feature_an_old_choice_or_reuse_off_tunes_again():
    d = data()
    profile = drift.profile(d)
    d.items["n_clicks"] = np.arange(len(d.items))  # a feature declared since the last tuning
    keep, why, psis = drift.reuse(profile, datetime.now(UTC), d, 0.1, 7)
    assert not keep and psis["item n_clicks"] == drift.NEW and "item n_clicks" in why
    d = data()
    assert drift.reuse(profile, datetime.now(UTC) - timedelta(days=8), d, 0.1, 7)[:2] == (
        False,
        "the last tuning is 8.0 days old; it is redone after 7",
    )
    assert not drift.reuse(profile, datetime.now(UTC), d, 0.0, 7)[0]
