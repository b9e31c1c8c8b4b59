"""Experiments: a user's arm is stable (per experiment, across workers and restarts), the shares hold,
the arm answers and is logged with each exposure, /status shows what runs, and a wrong file says what
to fix."""

import pytest
from fastapi.testclient import TestClient

from ml.live.experiments import Arm, Experiment, ExperimentError, load
from ml.live.log import LiveLog
from ml.recommenders import ItemItemRecommender, PopularityRecommender
from ml.serving.publish import publish
from service.app import build_app
from service.registry import Registry
from tests.conftest import tiny_data

SPEC = """experiments:
  - name: pop_vs_item_item
    arms:
      - {name: control, model: popularity, share: 0.3}
      - {name: treatment, model: item_item, share: 0.7}
"""


def test_arms_are_stable_and_split_by_their_shares():
    e = Experiment("x", (Arm("a", "als", 0.3), Arm("b", "ease", 0.7)))
    arms = [e.arm(u).name for u in range(20_000)]
    assert arms == [e.arm(u).name for u in range(20_000)]  # a function of the user id only
    assert abs(arms.count("a") / len(arms) - 0.3) < 0.015  # binomial sd 0.0032: over 4 sd off is a bug
    other = Experiment("y", e.arms)  # another experiment shuffles users independently
    same = sum(e.arm(u).name == other.arm(u).name for u in range(20_000)) / 20_000
    assert abs(same - (0.3**2 + 0.7**2)) < 0.015


@pytest.mark.parametrize(
    "text, message",
    [
        ("experiments: {a: 1}", "must be a list"),
        ("experiments:\n  - {name: e, arms: [{name: a, model: als, share: 1}]}", "at least two arms"),
        ("experiments:\n  - {name: e, arms: [{name: a, model: als, share: .5}, {name: b, model: ease, share: .6}]}", "up to 1.1"),
        ("experiments:\n  - {name: e, arms: [{name: a, model: xy, share: .5}, {name: b, model: ease, share: .5}]}", "'xy' is"),
        ("experiments:\n  - {name: E!, arms: []}", "lower case"),
        ("experiments: [", "not valid YAML"),
    ],
)
def test_a_wrong_experiments_file_says_what_to_fix(tmp_path, text, message):
    path = tmp_path / "experiments.yml"
    path.write_text(text)
    with pytest.raises(ExperimentError, match=message):
        load(path, ["als", "ease"])
    assert load(tmp_path / "absent.yml", ["als"]) == []


def test_the_arm_answers_is_logged_and_shows_in_status(tmp_path, monkeypatch):
    data = tiny_data()
    publish(tmp_path / "models", "popularity", "v1", PopularityRecommender().fit(data.train), data)
    publish(tmp_path / "models", "item_item", "v1", ItemItemRecommender().fit(data.train), data)
    (tmp_path / "experiments.yml").write_text(SPEC)
    monkeypatch.setenv("RECSYS_EXPERIMENTS", str(tmp_path / "experiments.yml"))
    log = LiveLog(tmp_path / "live.sqlite")
    app = build_app(Registry(tmp_path / "models", tmp_path / "none.duckdb", reload_interval_s=60), log)
    running = load(tmp_path / "experiments.yml", ["popularity", "item_item"])[0]
    with TestClient(app) as client:
        for user in range(1, 21):
            body = client.get(f"/users/{user}/recommendations", params={"k": 3}).json()
            arm = running.arm(user)
            assert (body["experiment"], body["arm"], body["model"]) == ("pop_vs_item_item", arm.name, arm.model)
        pinned = client.get("/users/1/recommendations", params={"model": "item_item"}).json()
        assert pinned["arm"] is None and pinned["model"] == "item_item"  # a named model is outside the experiment
        assert client.get("/users/1/recommendations", params={"experiment": "nope"}).status_code == 404
        status = client.get("/status").json()
    assert status["experiments"] == [
        {"name": "pop_vs_item_item", "arms": [{"name": "control", "model": "popularity", "share": 0.3},
                                              {"name": "treatment", "model": "item_item", "share": 0.7}]}
    ]  # fmt: skip
    exposures = log.table("exposures")
    logged = exposures[exposures.arm.notna()].groupby("user_id").arm.first()
    assert logged.to_dict() == {u: running.arm(u).name for u in range(1, 21)}
