"""SASRec learns the order of steps (a world where item i is followed by item i + 1), survives a save and
load, refuses to train without the ordered steps, and at request time continues a user's sequence
with the events logged since training, through the service, for known and new users."""

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch
from fastapi.testclient import TestClient

from ml.errors import CannotTrain
from ml.evaluation.protocol import headline_users
from ml.feature_sets import Feature, FeatureSet
from ml.interactions import InteractionData
from ml.live.log import LiveLog
from ml.models import load_model
from ml.recommenders import PopularityRecommender, SASRecRecommender
from ml.serving.publish import publish
from service.app import build_app
from service.registry import Registry

N_USERS, N_ITEMS = 300, 40
FAST = {"epochs": 30, "windows_per_epoch": 300, "embedding_dim": 32, "learning_rate": 1e-3, "seed": 3}


def cycle_world(seed: int = 0) -> InteractionData:
    """Users walk the items in a cycle (i -> i + 1 mod 40) from a random start; each user's last step is
    the validation window, the rest train."""
    rng = np.random.default_rng(seed)
    rows = []
    for user in range(N_USERS):
        start, length = rng.integers(N_ITEMS), rng.integers(5, 15)
        rows += [(user, (start + t) % N_ITEMS, "validation" if t == length - 1 else "train", t + 1) for t in range(length)]
    steps = pd.DataFrame(rows, columns=["user_idx", "item_idx", "split", "position"])

    def matrix(frame):
        return sp.csr_matrix((np.ones(len(frame), np.float32), (frame.user_idx, frame.item_idx)), shape=(N_USERS, N_ITEMS))

    fit, validation = matrix(steps[steps.split == "train"]), matrix(steps[steps.split == "validation"])
    users = pd.DataFrame({"user_idx": np.arange(N_USERS), "user_id": np.arange(N_USERS) + 1})
    category = [f"c{i % 4}" for i in range(N_ITEMS)]
    items = pd.DataFrame({"item_idx": np.arange(N_ITEMS), "item_id": np.arange(N_ITEMS) + 101, "category": category})
    items = items.assign(title="t", brand=None, price=1.0, released_at=pd.Timestamp("2024-01-01"))
    return InteractionData(
        train=fit + validation, test=validation, users=users, items=items, fit=fit, validation=validation, sequences=steps
    )


@pytest.fixture(scope="module")
def trained():
    view = cycle_world().tuning()
    return view, SASRecRecommender(**FAST).fit(view.train, sequences=view.sequences)


def test_it_learns_which_item_comes_next(trained):
    view, model = trained
    assert set(view.sequences.split) == {"train"}  # the tuning view never hands over a validation step
    ndcg = headline_users(model, view).mean()
    popularity = headline_users(PopularityRecommender().fit(view.train), view).mean()
    assert ndcg > 0.6 and popularity < 0.2, (ndcg, popularity)
    # continuing a sequence: after 17 comes 18, for a new user (-1) and for user 0 whatever they did before
    scores = model.score_continued(np.array([-1, 0]), [np.array([16, 17]), np.array([17])])
    assert list(scores.argmax(axis=1)) == [18, 18]
    again = SASRecRecommender(**FAST).fit(view.train, sequences=view.sequences)  # seeded: the same model
    np.testing.assert_array_equal(again.score_users(np.arange(10)), model.score_users(np.arange(10)))


def test_sampled_softmax_and_item_features_learn_it_too():
    view = cycle_world().tuning()
    category = FeatureSet("item_features", (Feature("category", "categorical", "attributes", ("sasrec",)),))
    model = SASRecRecommender(**FAST, loss="sampled", n_negatives=8).fit(
        view.train, sequences=view.sequences, item_features=view.items, features={"item_features": category}
    )
    assert list(model.features["item_features"].names) == ["category"] and model.table_net.project is not None
    assert headline_users(model, view).mean() > 0.5


def test_a_saved_model_scores_the_same_after_loading(trained, tmp_path):
    _, model = trained
    loaded = load_model(model.save(tmp_path / "sasrec"))
    users = np.arange(20)
    np.testing.assert_allclose(loaded.score_users(users), model.score_users(users), rtol=1e-6)
    more = [np.array([5, 6]), np.array([30])]
    np.testing.assert_allclose(
        loaded.score_continued(np.array([3, -1]), more), model.score_continued(np.array([3, -1]), more), rtol=1e-5, atol=1e-5
    )
    assert loaded.similar_items([7], 1)[0][0, 0] == 8  # the likeliest next item after 7 alone


def test_users_are_read_in_batches_of_similar_length_with_the_same_states(trained):
    """Inference cuts each batch to its longest history: the padding it drops changes no state (within
    float rounding), an empty history stays zeros, and the batch size does not matter."""
    _, model = trained
    recent = model.recent.copy()
    recent[:5] = -1  # users without steps
    with torch.no_grad():  # every row at full width, as one batch
        full = model.encoder(torch.from_numpy(recent.astype(np.int64)), torch.from_numpy(model.item_table))[:, -1].numpy()
    full[:5] = 0
    assert len({int(n) for n in (recent != -1).sum(axis=1)}) > 5  # histories of many lengths
    np.testing.assert_allclose(model._hidden(recent), full, atol=1e-5)
    np.testing.assert_allclose(model._hidden(recent, batch=7), model._hidden(recent), atol=1e-5)
    assert not model._hidden(recent)[:5].any()


def test_without_the_ordered_steps_it_says_what_it_needs():
    data = cycle_world()
    with pytest.raises(CannotTrain, match="marts.user_sequences"):
        SASRecRecommender().fit(data.train)


def test_events_logged_since_training_continue_the_sequence_in_the_service(trained, tmp_path):
    _, model = trained
    data = cycle_world()
    publish(tmp_path / "models", "popularity", "v1", PopularityRecommender().fit(data.train), data)
    publish(tmp_path / "models", "sasrec", "v1", model, data)
    app = build_app(Registry(tmp_path / "models", tmp_path / "none.duckdb", reload_interval_s=60), LiveLog(tmp_path / "l.sqlite"))
    with TestClient(app) as client:

        def first(user):
            body = client.get(f"/users/{user}/recommendations", params={"k": 1, "model": "sasrec"}).json()
            return body["items"][0]["item_id"], body["fallback"], body["fresh_events"]

        assert first(5000)[1] == "popularity:unknown_user"
        # a new user clicks items 20 and 21 (ids 121, 122): the model itself serves them, next is 22 (id 123)
        for item_id in (121, 122):
            client.post("/events", json={"user_id": 5000, "item_id": item_id, "event_type": "click"})
        assert first(5000) == (123, None, 2)
        # a known user's next step moves their list to what follows it
        client.post("/events", json={"user_id": 1, "item_id": 131, "event_type": "view"})
        assert first(1) == (132, None, 1)
