"""Request-time freshness: the events a user sent after the data a served model was trained on
(``POST /events``, read from the live log) change that user's next answer, without retraining.

A user's fresh history is the trained history (the serving index) plus the logged events' weights (the
dbt var ``event_weights``, as the interactions mart sums them) on the items the model knows. Items in
it are never recommended. A :class:`~ml.recommenders.base.FoldIn` model scores the history itself (ALS
solves the user's factors, item-item, RP3beta and EASE multiply it by their item weights; a
:class:`~ml.recommenders.base.SequenceFoldIn` model, SASRec, continues the user's sequence with the
new items in time order), so a user
the model never saw is served by it from their first events; any other model keeps its trained scores
for a known user and only excludes the new items.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ml import columns as C
from ml.live.log import LiveLog
from ml.recommenders.base import FoldIn, SequenceFoldIn, mask_excluded, top_k
from ml.serving.freshness import data_until
from service.served import ServedModel


@dataclass(frozen=True)
class FreshHistory:
    row: sp.csr_matrix  # 1 x n_items: the trained history plus the fresh events, in mart weights
    events: int  # fresh events on items the model knows
    steps: np.ndarray  # their item rows, oldest first (what continues a sequential model's sequence)


def fresh_histories(served: ServedModel, log: LiveLog, user_ids: list[int], rows: np.ndarray) -> dict[int, FreshHistory]:
    """Batch position -> fresh history, for the users with fresh events on items the model knows and a
    positive weight (an impression is not an interaction). Fresh: later than the last event the version
    was trained on (every logged event, when its provenance does not say)."""
    weights = C.event_weights()
    logged = log.histories(user_ids, data_until(served.provenance))
    out = {}
    for i, user_id in enumerate(user_ids):
        events = logged.get(user_id)
        if not events:
            continue
        items = served.item_rows([item for item, _ in events])
        weight = np.array([weights[kind] for _, kind in events], dtype=np.float32)
        keep = (items >= 0) & (weight > 0)
        if not keep.any():
            continue
        n_items = served.model.n_items
        live = sp.csr_matrix((weight[keep], (np.zeros(int(keep.sum()), dtype=np.int64), items[keep])), shape=(1, n_items))
        trained = served.index.seen[rows[i]] if rows[i] >= 0 else sp.csr_matrix((1, n_items), dtype=np.float32)
        out[i] = FreshHistory(sp.csr_matrix(trained + live), int(keep.sum()), items[keep])
    return out


def fresh_top_k(served: ServedModel, fresh: FreshHistory, row: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-k (item rows, scores) of one user from the fresh history, its items excluded."""
    model = served.model
    if isinstance(model, SequenceFoldIn):
        scores = np.asarray(model.score_continued(np.array([row]), [fresh.steps]), dtype=np.float32)
    elif isinstance(model, FoldIn):
        scores = np.asarray(model.score_histories(fresh.row), dtype=np.float32)
    else:
        scores = np.asarray(model.score_users(np.array([row])), dtype=np.float32)
    mask_excluded(scores, fresh.row, np.array([0]))
    items, best = top_k(scores, k)
    return items[0], best[0]
