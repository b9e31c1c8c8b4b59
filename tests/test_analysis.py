"""Hand-computed expectations for the analyses and the pieces around the CTR models: candidate recall,
cold-start metrics, calibration, the LightGBM CTR model and the CTR reranker."""

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ml.ctr.deep import CTRModel
from ml.ctr.features import split_examples
from ml.ctr.gbdt import LightGBMCTR, sampled
from ml.ctr.rerank import RerankScorer
from ml.evaluation.cold_start import cold_start_metrics
from ml.evaluation.metrics import calibration_table, ctr_report
from ml.models import load_model
from ml.recommenders import PopularityRecommender
from ml.two_stage.features import candidate_recall
from tests.conftest import FixedScorer, declared
from tests.test_evaluation import tiny_data
from tests.test_neural import tiny_ctr


def test_candidate_recall_counts_test_positives_in_the_union():
    history = sp.csr_matrix(np.array([[1, 0, 0, 0, 0], [0, 1, 0, 0, 0], [0, 0, 0, 0, 0]], dtype=np.float32))
    relevant = sp.csr_matrix(np.array([[0, 1, 1, 0, 0], [0, 0, 0, 0, 1], [1, 1, 0, 0, 0]], dtype=np.float32))
    gens = {
        "a": FixedScorer([[0, 9, 5, 1, 0], [0, 0, 0, 0, 1], [1, 1, 1, 1, 1]]),
        "b": FixedScorer([[0, 1, 2, 3, 9], [0, 0, 9, 1, 0], [1, 1, 1, 1, 1]]),
    }
    # user 2 has no history: not counted. User 0 top-1: a -> 1, b -> 4: hits {1} of {1, 2};
    # user 1 top-1: a -> 4, b -> 2: hits {4} of {4}. Recall = 2 / 3
    assert candidate_recall(gens, history, relevant, [1, 2]) == {1: 2 / 3, 2: 1.0}  # a's top-2 for user 0 adds item 2


def test_cold_start_metrics_use_the_models_own_lists():
    data = tiny_data()  # user 1 is cold with test item 2; user 0 warm with relevant item 1
    model = FixedScorer([[9, 1, 5, 0], [0, 0, 9, 1], [0, 0, 0, 0]])
    res = cold_start_metrics(model, data, k=2).set_index(["slice", "metric"])
    assert res.loc[("cold_users", "ndcg"), "value"] == 1.0  # no fallback: the model ranks item 2 first
    assert res.loc[("cold_users", "ndcg"), "n_users"] == 1
    assert res.loc[("users_1_to_3_interactions", "recall"), "value"] == 1.0  # user 0: [2, 1] holds item 1


def test_calibration_table_bins_by_quantile():
    labels = np.array([0, 0, 1, 1, 0, 1, 1, 1])
    probs = np.array([0.1, 0.1, 0.2, 0.2, 0.7, 0.7, 0.9, 0.9])
    table = calibration_table(labels, probs, n_bins=2)
    assert [round(r["predicted"], 4) for r in table] == [0.15, 0.8]
    assert [r["observed"] for r in table] == [0.5, 0.75]
    expected = (abs(0.15 - 0.5) + abs(0.8 - 0.75)) / 2
    assert abs(ctr_report(labels, probs, n_bins=2)["calibration_error"] - expected) < 1e-12


def test_lightgbm_ctr_learns_and_round_trips(tmp_path):
    train, val, test = split_examples(tiny_ctr())
    train = train.assign(brand=train["brand"].where(train.index % 3 > 0))  # brand is optional: missing values train
    features = declared()["ctr_examples"].for_model("lgbm_ctr")
    assert "user_idx" not in features.names  # the ids are declared for the networks only
    model = LightGBMCTR(n_estimators=100, min_child_samples=20).fit(train, val, features)
    p = model.predict_proba(test)
    assert ctr_report(test["clicked"].to_numpy(), p)["auc"] > 0.7
    loaded = load_model(model.save(tmp_path / "lgbm"))
    np.testing.assert_allclose(loaded.predict_proba(test), p)
    assert loaded.features.to_dict() == features.to_dict()  # the feature set is recorded in the artifact
    unseen = test.assign(brand=None, category="never seen")  # missing and unknown categories still score
    assert np.isfinite(loaded.predict_proba(unseen)).all()
    # larger data: a seeded sample of max_train_rows examples trains, and still learns
    rows = sampled(train, len(train) // 2, seed=1)
    assert len(rows) == len(train) // 2 and rows.index.is_monotonic_increasing and sampled(train, 0, 1) is train
    assert rows.index.equals(sampled(train, len(train) // 2, seed=1).index)
    half = LightGBMCTR(n_estimators=100, min_child_samples=20, max_train_rows=len(train) // 2).fit(train, val, features)
    assert ctr_report(test["clicked"].to_numpy(), half.predict_proba(test))["auc"] > 0.7


def test_reranker_orders_the_base_top_n_by_click_probability():
    data = tiny_data()
    frames = tiny_ctr()
    ctr = CTRModel("mlp", epochs=2, seed=1).fit(*split_examples(frames)[:2], declared()["ctr_examples"].for_model("ctr_mlp"))
    asked = []

    def features_for(pairs: pd.DataFrame) -> pd.DataFrame:  # as the marts would answer: a feature row per pair
        asked.append(pairs)
        return frames.iloc[pairs["item_id"].to_numpy() % 7].reset_index(drop=True)

    base = PopularityRecommender().fit(data.train)
    ids = (np.array([10, 11, 12]), np.array([100, 101, 102, 103]))
    rerank = RerankScorer(base, ctr, *ids, data.train, features_for, n_candidates=2)
    got, _ = rerank.recommend([0], 2, exclude=data.train)
    top2, _ = base.recommend([0], 2, exclude=data.train)
    assert set(got[0]) == set(top2[0])  # the same candidates, reordered by the CTR model
    (pairs,) = asked  # the candidates were asked for by id, in the context the pairs are scored in
    assert pairs["user_id"].tolist() == [10, 10] and pairs["item_id"].tolist() == (100 + top2[0]).tolist()
    assert set(pairs["event_hour"]) == {20} and set(pairs["is_weekend"]) == {0}
    probs = ctr.predict_proba(features_for(pairs))
    assert got[0].tolist() == top2[0][np.argsort(-probs, kind="stable")].tolist()
