"""Warm starts of the click models: how a day's model is fit (plan), the state it carries, the check
against a cold fit, and the models continuing from their previous version."""

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from ml import training, warm_start
from ml.ctr.deep import CTRModel
from ml.ctr.features import split_examples
from ml.ctr.gbdt import LightGBMCTR
from ml.evaluation.metrics import roc_auc
from tests.conftest import declared
from tests.test_neural import tiny_ctr

NOW = datetime(2026, 12, 4, tzinfo=UTC)
FEATURES = declared()["ctr_examples"]


class Fitted:  # what plan reads of a previous version: its parameters and its features' fingerprint
    def __init__(self, params, features=FEATURES):
        self.params, self.features = params, features


def previous(days_ago: float, verdict: str = "", params=None) -> warm_start.Previous:
    checked = (NOW - timedelta(days=days_ago)).isoformat()
    return warm_start.Previous(Fitted(params or {"a": 1}), checked, verdict)


@pytest.mark.parametrize(
    ("last", "params", "features", "enabled", "mode", "says"),
    [
        (previous(1), {"a": 1}, FEATURES.fingerprint, False, "cold", "off"),
        (None, {"a": 1}, FEATURES.fingerprint, True, "cold", "no earlier version"),
        (previous(1), {"a": 2}, FEATURES.fingerprint, True, "cold", "parameters changed since the last version: a"),
        (previous(1), {"a": 1}, "other", True, "cold", "features changed"),
        (previous(7), {"a": 1}, FEATURES.fingerprint, True, "both", "7.0 days old"),
        (previous(2, "hurt"), {"a": 1}, FEATURES.fingerprint, True, "cold", "significantly worse"),
        (previous(2, "noise"), {"a": 1}, FEATURES.fingerprint, True, "warm", "2.0 days ago: noise"),
    ],
)
def test_the_plan_says_how_and_why(last, params, features, enabled, mode, says):
    chosen = warm_start.plan(last, params, features, enabled, check_days=7, now=NOW)
    assert chosen.mode == mode and says in chosen.why


def test_the_state_restarts_on_a_cold_start_and_a_check_and_carries_over_otherwise():
    last = previous(3, "noise")
    warm = warm_start.plan(last, {"a": 1}, FEATURES.fingerprint, True, 7, NOW)
    assert warm_start.state_after(warm, last, None, NOW) == {"checked_at": last.checked_at, "verdict": "noise"}
    paused = previous(3, "hurt")
    cold = warm_start.plan(paused, {"a": 1}, FEATURES.fingerprint, True, 7, NOW)
    assert cold.paused and warm_start.state_after(cold, paused, None, NOW)["checked_at"] == paused.checked_at
    fresh = warm_start.plan(last, {"a": 2}, FEATURES.fingerprint, True, 7, NOW)
    assert warm_start.state_after(fresh, last, None, NOW) == {"checked_at": NOW.isoformat(), "verdict": ""}
    found = warm_start.check(np.arange(4), np.array([1, 0, 1, 0]), np.full(4, 0.5), np.full(4, 0.5))
    both = warm_start.plan(previous(8), {"a": 1}, FEATURES.fingerprint, True, 7, NOW)
    assert warm_start.state_after(both, previous(8), found, NOW) == {"checked_at": NOW.isoformat(), "verdict": "noise"}


def test_the_check_pairs_the_examples_and_keeps_warm_only_when_it_is_significantly_better():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 2000)
    sharp, blunt = np.where(labels == 1, 0.9, 0.2), np.full(2000, 0.5)
    better = warm_start.check(np.arange(2000), labels, sharp, blunt)
    assert better.verdict == "helped" and better.keep_warm and better.auc_warm == 1.0 and better.auc_cold == 0.5
    by_hand = np.where(labels == 1, np.log(0.9 / 0.5), np.log(0.8 / 0.5)).mean()  # log likelihood, warm - cold
    assert better.change == pytest.approx(by_hand) and better.n == 2000
    worse = warm_start.check(np.arange(2000), labels, blunt, sharp)
    assert worse.verdict == warm_start.WORSE and not worse.keep_warm
    assert warm_start.check(np.arange(2000), labels, blunt, blunt).verdict == "noise"


@pytest.fixture(scope="module")
def days():
    """Two days of examples: the second's blocks and labels drawn again (another day of the same world)."""
    return split_examples(tiny_ctr(seed=0)), split_examples(tiny_ctr(seed=1))


def test_a_network_continues_from_its_last_version_for_a_few_epochs(days):
    (train, val, _), (train2, val2, _) = days
    features = FEATURES.for_model("dcn")
    first = CTRModel("dcn", epochs=6, warm_epochs=2, batch_size=128, seed=3).fit(train, val, features)
    warm = CTRModel("dcn", epochs=6, warm_epochs=2, batch_size=128, seed=3).fit(train2, val2, features, start=first)
    assert warm.encoder is first.encoder  # its vocabularies and scales: the weights keep their meaning
    assert [h["epoch"] for h in warm.history] == [0, 1, 2]  # epoch 0: the last version on today's validation
    assert warm.history[0]["val_auc"] == pytest.approx(roc_auc(val2["clicked"].to_numpy(), first.predict_proba(val2)))
    assert roc_auc(val2["clicked"].to_numpy(), warm.predict_proba(val2)) == pytest.approx(max(h["val_auc"] for h in warm.history))
    assert not np.allclose(first.predict_proba(val2), warm.predict_proba(val2)) or warm.best_epoch == 0


def test_lightgbm_adds_at_most_warm_trees_to_its_last_version(days):
    (train, val, _), (train2, val2, _) = days
    features = FEATURES.for_model("lgbm_ctr")
    first = LightGBMCTR(n_estimators=60, min_child_samples=20, warm_trees=5).fit(train, val, features)
    warm = LightGBMCTR(n_estimators=60, min_child_samples=20, warm_trees=5).fit(train2, val2, features, start=first)
    assert first.booster.num_trees() < warm.booster.num_trees() <= first.booster.num_trees() + 5
    assert warm.categories == first.categories


def test_a_check_day_fits_both_and_publishes_cold_unless_warm_is_significantly_better():
    params = {"n_estimators": 60, "min_child_samples": 20, "warm_trees": 5}
    first, _, info = training.train_click_model("lgbm_ctr", params, tiny_ctr(seed=0), FEATURES)
    assert info["fit"] == "cold" and info["warm_start_state"]["verdict"] == ""  # a cold fit starts the clock
    examples = tiny_ctr(seed=1)
    train, val, _ = split_examples(examples)
    cold = LightGBMCTR(**params).fit(train, val, FEATURES.for_model("lgbm_ctr"))
    week_old = warm_start.Previous(first, (datetime.now(UTC) - timedelta(days=8)).isoformat(), "")
    model, _, info = training.train_click_model("lgbm_ctr", params, examples, FEATURES, previous=week_old, warm=True)
    check = info["warm_check"]
    kept = "warm" if check["verdict"] == "helped" else "cold"
    assert info["fit"] == f"both, published {kept}" and check["n"] == len(val)
    assert info["warm_start_state"]["verdict"] == check["verdict"]
    same_as_cold = np.array_equal(model.predict_proba(val), cold.predict_proba(val))
    assert same_as_cold == (kept == "cold")
    recent = warm_start.Previous(first, info["warm_start_state"]["checked_at"], "noise")
    model, _, info = training.train_click_model("lgbm_ctr", params, examples, FEATURES, previous=recent, warm=True)
    assert info["fit"] == "warm" and "warm_check" not in info
    assert first.booster.num_trees() < model.booster.num_trees() <= first.booster.num_trees() + 5


def test_the_daily_cycle_reuses_tunings_and_warm_starts_the_click_models_it_selects():
    import dagster as dg

    from dagster_defs.definitions import defs
    from dagster_defs.jobs import daily_run_config, retrain_schedule

    chosen = daily_run_config({"tuning__als", "tuning__sasrec", "models__dcn", "models__als", "evaluation__dcn"})
    assert chosen == {
        "ops": {"tuning__als": {"config": {"reuse_below_psi": 0.1}}, "models__dcn": {"config": {"warm_start": True}}}
    }
    tick = retrain_schedule.evaluate_tick(dg.build_schedule_context())
    assert tick.run_requests[0].run_config == daily_run_config()
    job = defs.resolve_job_def("materialize_all")
    assert dg.validate_run_config(job, daily_run_config())["ops"]["models__lgbm_ctr"]["config"]["warm_start"] is True
