"""Request-time freshness and the live log: POST /events changes the user's next answer at once (seen
items excluded, the history folded in, new users served by the model itself), every worker sees it,
bad events are refused whole with the reason, and every served list is logged as exposures."""

import numpy as np
import pytest
from fastapi.testclient import TestClient

from ml.live.log import LiveLog
from ml.recommenders import ALSRecommender, EASERecommender, ItemItemRecommender, PopularityRecommender, RP3betaRecommender
from ml.serving.publish import publish
from service.app import build_app
from service.registry import Registry
from tests.conftest import tiny_data

DATA = tiny_data()
ITEM_IDS = DATA.items.item_id.to_numpy()


@pytest.fixture
def serving(tmp_path):
    models = tmp_path / "models"
    publish(models, "popularity", "v1", PopularityRecommender().fit(DATA.train), DATA)
    publish(models, "als", "v1", ALSRecommender(factors=4, iterations=5).fit(DATA.train), DATA)
    publish(models, "item_item", "v1", ItemItemRecommender().fit(DATA.train), DATA)
    log_path = tmp_path / "live.sqlite"

    def app():
        return build_app(Registry(models, tmp_path / "none.duckdb", reload_interval_s=60), LiveLog(log_path))

    with TestClient(app()) as client:
        yield client, app, log_path


def top(client, user, model="als", k=10):
    r = client.get(f"/users/{user}/recommendations", params={"k": k, "model": model})
    assert r.status_code == 200, r.text
    return r.json()


def counted(client, line: str) -> float:
    """A counter's value in /metrics (0 before it is first counted)."""
    found = [row for row in client.get("/metrics").text.splitlines() if row.startswith(line + " ")]
    return float(found[0].split()[-1]) if found else 0.0


def test_a_purchase_is_excluded_and_folded_in_at_once(serving):
    client, _, _ = serving
    purchases, fresh = (counted(client, 'recsys_events_received_total{event_type="purchase"}'),
                        counted(client, 'recsys_fresh_lists_total{model="als"}'))  # fmt: skip
    before = top(client, 1)
    bought = before["items"][0]["item_id"]
    r = client.post("/events", json={"user_id": 1, "item_id": bought, "event_type": "purchase"})
    assert r.status_code == 200 and r.json() == {"accepted": 1}
    after = top(client, 1)
    assert bought not in [i["item_id"] for i in after["items"]] and after["fresh_events"] == 1
    assert after["fallback"] is None and before["fresh_events"] == 0
    for model in ("item_item", "popularity"):  # every model excludes it
        assert bought not in [i["item_id"] for i in top(client, 1, model)["items"]]
    # the request-time event and the list it shaped, counted
    assert counted(client, 'recsys_events_received_total{event_type="purchase"}') == purchases + 1
    assert counted(client, 'recsys_fresh_lists_total{model="als"}') == fresh + 1


def test_a_new_user_is_served_by_the_model_from_their_first_events(serving):
    client, _, _ = serving
    assert top(client, 999)["fallback"] == "popularity:unknown_user"
    events = [{"user_id": 999, "item_id": int(i), "event_type": "click"} for i in ITEM_IDS[:3]]
    assert client.post("/events/batch", json={"events": events}).json() == {"accepted": 3}
    for model in ("als", "item_item"):
        body = top(client, 999, model)
        assert body["fallback"] is None and body["fresh_events"] == 3, model
        assert not {int(i) for i in ITEM_IDS[:3]} & {i["item_id"] for i in body["items"]}
    popular = top(client, 999, "popularity")  # the fallback excludes them too
    assert not {int(i) for i in ITEM_IDS[:3]} & {i["item_id"] for i in popular["items"]}
    # an impression is not an interaction: nothing to fold in, the fallback still serves
    client.post("/events", json={"user_id": 998, "item_id": int(ITEM_IDS[0]), "event_type": "impression"})
    assert top(client, 998)["fallback"] == "popularity:unknown_user"


def test_every_worker_sees_an_event_another_worker_took(serving):
    client, app, _ = serving
    bought = top(client, 2)["items"][0]["item_id"]
    event = {"user_id": 2, "item_id": bought, "event_type": "add_to_cart", "event_at": "2026-06-01T10:00:00Z"}
    client.post("/events", json=event)
    with TestClient(app()) as other:  # a second worker process: its own app, the same log file
        assert bought not in [i["item_id"] for i in top(other, 2)["items"]]


@pytest.mark.parametrize(
    "event, where",
    [
        ({"user_id": 1, "item_id": 2, "event_type": "Click"}, "event_type"),
        ({"user_id": 1, "item_id": 2, "event_type": "like"}, "event_type"),
        ({"user_id": "1", "item_id": 2, "event_type": "view"}, "user_id"),
        ({"user_id": 2**63, "item_id": 2, "event_type": "view"}, "user_id"),
        ({"user_id": 1, "item_id": True, "event_type": "view"}, "item_id"),
        ({"user_id": 1, "item_id": 2, "event_type": "view", "event_at": "1969-12-31T23:59:59"}, "event_at"),
        ({"user_id": 1, "item_id": 2, "event_type": "view", "event_at": "2999-01-01T00:00:00"}, "event_at"),
        ({"user_id": 1, "item_id": 2, "event_type": "view", "event_at": 1767225600}, "event_at"),
        ({"user_id": 1, "item_id": 2, "event_type": "view", "event_at": "yesterday"}, "event_at"),
        ({"user_id": 1, "item_id": 2, "event_type": "view", "weight": 3}, "weight"),
    ],
)
def test_a_bad_event_is_refused_with_its_field_and_nothing_is_written(serving, event, where):
    client, _, log_path = serving
    good = {"user_id": 1, "item_id": 2, "event_type": "view"}
    r = client.post("/events/batch", json={"events": [good, event]})
    assert r.status_code == 422
    assert [e["loc"] for e in r.json()["detail"]] == [["body", "events", 1, where]]
    assert client.post("/events", json=event).status_code == 422
    assert LiveLog(log_path).counts()["events"] == 0  # the good event of the refused batch is not kept either


def test_every_served_list_is_logged_with_its_request_id(serving):
    client, _, log_path = serving
    r = client.get("/users/3/recommendations", params={"k": 4, "model": "als"}, headers={"X-Request-ID": "req-42"})
    served = [i["item_id"] for i in r.json()["items"]]
    client.post("/recommendations", json={"user_ids": [4, 12345], "top_n": 2, "model": "item_item"})
    exposures = LiveLog(log_path).table("exposures")
    mine = exposures[exposures.request_id == "req-42"]
    assert mine.item_id.tolist() == served and mine.position.tolist() == [1, 2, 3, 4]
    assert set(mine.model) == {"als"} and set(mine.model_version) == {"v1"} and mine.arm.isna().all()
    batch = exposures[exposures.request_id != "req-42"]
    assert sorted(batch.user_id.tolist()) == [4, 4, 12345, 12345] and set(batch.model) == {"item_item"}


@pytest.mark.parametrize("cls", [ALSRecommender, ItemItemRecommender, RP3betaRecommender, EASERecommender, PopularityRecommender])
def test_folding_in_a_trained_history_gives_back_the_trained_scores(cls):
    model = cls().fit(DATA.train)
    users = np.arange(10)
    trained, folded = model.score_users(users), model.score_histories(DATA.train[users])
    if cls is ALSRecommender:  # the user half-step of ALS on its own factors: the same vectors, up to the sweep order
        assert np.corrcoef(trained.ravel(), folded.ravel())[0, 1] > 0.99
    else:
        np.testing.assert_allclose(folded, trained, rtol=1e-5, atol=1e-6)
