"""The checks a declared feature passes before models take it, and the verdict of a feature change,
against hand-computed values."""

import math

import numpy as np
import pandas as pd
import pytest

from ml import feature_checks as fc
from ml.feature_sets import Feature, FeatureSet

FEATURES = FeatureSet(
    "ctr_examples",
    (Feature("price", "numeric", "item"), Feature("brand", "categorical", "item"), Feature("flag", "numeric", "pair")),
)


def test_degenerate_features_are_all_missing_or_constant_but_missingness_is_information():
    frame = pd.DataFrame({"price": [np.nan] * 3, "brand": ["a", "a", "a"], "flag": [1.0, np.nan, 1.0]})
    assert fc.degenerate(frame, FEATURES) == {"price": "all missing", "brand": "constant ('a')"}
    assert FEATURES.without(fc.degenerate(frame, FEATURES)).names == ["flag"]


def test_single_feature_auc_by_value_and_by_train_click_rate():
    train = pd.DataFrame({"price": [1.0, 3.0, 5.0], "brand": ["a", "a", "b"], "clicked": [1, 0, 0]})
    validation = pd.DataFrame({"price": [1.0, np.nan, 4.0, 6.0], "brand": ["a", "b", "c", "b"], "clicked": [0, 0, 1, 1]})
    # price: the missing value is the train median 3; scores 1, 3, 4, 6 rank both clicks above both others
    assert fc.single_feature_auc(train, validation, "price", "numeric") == 1.0
    # brand: a -> 1/2, b -> 0, unseen c -> the train rate 1/3; clicked rows score 1/3 and 0, others 1/2 and 0:
    # pairs (click, non-click): (1/3 vs 1/2) lose, (1/3 vs 0) win, (0 vs 1/2) lose, (0 vs 0) tie -> 1.5 / 4
    assert fc.single_feature_auc(train, validation, "brand", "categorical") == pytest.approx(0.375)
    one_class = validation.assign(clicked=1)
    assert math.isnan(fc.single_feature_auc(train, one_class, "price", "numeric"))


def test_a_feature_that_predicts_the_label_on_its_own_leaks_in_either_direction():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 400)
    frame = pd.DataFrame({"clicked": y, "price": rng.normal(size=400), "brand": np.where(y == 1, "x", "y"), "flag": -y + 0.0})
    train, validation = frame.iloc[:200], frame.iloc[200:]
    leaks = fc.leaking(train, validation, FEATURES)
    assert set(leaks) == {"brand", "flag"}  # brand by its click rate (AUC 1), flag inverted (AUC 0)
    assert leaks["brand"] == 1.0 and leaks["flag"] == 0.0


def test_verdict_is_a_paired_t_test_with_an_interval():
    old = pd.Series([0.5, 0.5, 0.5, 0.5], index=[10, 11, 12, 13])
    new = old + pd.Series([0.1, 0.2, 0.3, 0.2], index=old.index)
    v = fc.verdict(new, old, "ndcg@10")
    # differences: mean 0.2, sd sqrt(0.02 / 3), t = 0.2 / (sd / 2) = 4.899 with 3 df: two-sided p = 0.0163
    assert v.change == pytest.approx(0.2) and v.p_value == pytest.approx(0.0163, abs=1e-4)
    assert v.verdict == "helped" and v.ci_low <= 0.2 <= v.ci_high and v.n == 4
    assert fc.verdict(old, new, "ndcg@10").verdict == "hurt"
    assert fc.verdict(old, old, "ndcg@10").verdict == "noise"
    assert fc.verdict(new.iloc[:1], old.iloc[:1], "ndcg@10").verdict == "not comparable"


def test_example_log_likelihood_is_minus_the_log_loss_per_example():
    ll = fc.example_log_likelihood(np.array([1, 0, 1]), np.array([0.5, 0.25, 1.0]))
    assert ll == pytest.approx([math.log(0.5), math.log(0.75), math.log(1 - 1e-7)])


def test_rows_fingerprint_ignores_order_and_sees_a_changed_label():
    rows = pd.DataFrame({"event_id": [3, 1, 2], "clicked": [1, 0, 0]})
    assert fc.rows_fingerprint(rows) == fc.rows_fingerprint(rows.iloc[::-1])
    assert fc.rows_fingerprint(rows) != fc.rows_fingerprint(rows.assign(clicked=[1, 1, 0]))


def validation_rows(version: str, names: str, values: list[float], labels: list[float | None]) -> pd.DataFrame:
    return pd.DataFrame(
        {"row_key": range(len(values)), "label": labels, "value": values, "model_version": version, "feature_names": names}
    )


def test_compare_versions_pairs_rows_and_names_the_features_added_and_removed():
    labels = [1.0, 0.0, 1.0, 0.0]
    old = validation_rows("v1", "a,b", [0.6, 0.4, 0.6, 0.4], labels)
    new = validation_rows("v2", "a,c", [0.8, 0.2, 0.7, 0.3], labels)
    row = fc.compare_versions("dcn", new, old)
    assert (row["model"], row["model_version"], row["previous_version"]) == ("dcn", "v2", "v1")
    assert (row["features_added"], row["features_removed"], row["metric"]) == ("c", "b", "log_likelihood")
    # per example log likelihood gains: log(.8/.6), log(.8/.6), log(.7/.6), log(.7/.6)
    assert row["value"] == pytest.approx((math.log(0.8 / 0.6) + math.log(0.7 / 0.6)) / 2)
    assert row["auc"] == row["auc_before"] == 1.0 and row["n_users"] == 4
    per_user = fc.compare_versions(
        "two_stage", validation_rows("v2", "a", [0.3, 0.5], [None, None]), validation_rows("v1", "a", [0.2, 0.5], [None, None])
    )
    assert per_user["metric"] == "ndcg@10" and per_user["value"] == pytest.approx(0.05) and per_user["features_added"] == ""


def test_contributions_are_estimated_on_a_seeded_sample_of_the_rows(monkeypatch):
    import lightgbm as lgb

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"strong": rng.normal(size=4000), "weak": rng.normal(size=4000), "none": rng.normal(size=4000)})
    y = (2 * frame.strong + 0.5 * frame.weak + rng.normal(size=4000) > 0).astype(int)
    booster = lgb.train({"objective": "binary", "verbose": -1, "seed": 0}, lgb.Dataset(frame, y), num_boost_round=30)
    features = FeatureSet("x", tuple(Feature(n, "numeric", "g") for n in frame.columns))
    full = fc.contribution_importance(booster, frame, features).set_index("feature")["mean_abs_contribution"]
    exact = np.abs(booster.predict(frame, pred_contrib=True))[:, :-1].mean(axis=0)
    np.testing.assert_allclose(full[list(frame.columns)], exact)  # all the rows while they are few
    monkeypatch.setattr(fc, "CONTRIBUTION_ROWS", 800)
    part = fc.contribution_importance(booster, frame, features).set_index("feature")["mean_abs_contribution"]
    assert list(part.index) == ["strong", "weak", "none"] and list(full.index) == list(part.index)
    assert not np.allclose(part, full[part.index])  # estimated on 800 rows ...
    assert np.max(np.abs(part - full[part.index])) < 0.05 * full.max()  # ... close to the mean of all 4,000
    assert part.equals(fc.contribution_importance(booster, frame, features).set_index("feature")["mean_abs_contribution"])


def test_permutation_importance_is_measured_on_a_seeded_sample_of_the_rows(monkeypatch):
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"strong": rng.normal(size=3000), "none": rng.normal(size=3000)})
    frame["clicked"] = (frame.strong + rng.normal(scale=0.5, size=3000) > 0).astype(int)
    features = FeatureSet("x", (Feature("strong", "numeric", "g"), Feature("none", "numeric", "g")))
    calls: list[int] = []

    def predict(f: pd.DataFrame) -> np.ndarray:
        calls.append(len(f))
        return f.strong.to_numpy()

    full = fc.permutation_importance(predict, frame, features).set_index("feature")["auc_drop"]
    monkeypatch.setattr(fc, "PERMUTATION_ROWS", 500)
    part = fc.permutation_importance(predict, frame, features).set_index("feature")["auc_drop"]
    assert calls == [3000] * 3 + [500] * 3  # the base and one shuffle per feature, on 500 rows once sampled
    assert part["none"] == full["none"] == 0 and abs(part["strong"] - full["strong"]) < 0.05 and part["strong"] > 0.3
