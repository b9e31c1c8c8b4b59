"""Answers for users: a model's top-k with the fallback rule (``ml.recommenders.base.served_by_fallback``:
popularity serves unknown users and users without history, unless the model embeds them from
features), with the events logged since training folded in (``service.fresh``), and a model's scores
of the catalogue for personalised search."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ml.live.log import LiveLog
from ml.models import FALLBACK
from ml.recommenders.base import FoldIn, SequenceFoldIn, served_by_fallback
from service.fresh import fresh_histories, fresh_top_k
from service.served import Catalogue, ServedModel


class NoFallback(RuntimeError):
    """Unknown users need the popularity model, and it is not loaded."""


@dataclass(frozen=True)
class UserResult:
    user_id: int
    item_ids: np.ndarray
    scores: np.ndarray
    fallback: str | None  # why the fallback served this user, or None
    fresh_events: int = 0  # events logged since training that shaped the answer


def _result(
    served: ServedModel, user_id: int, items: np.ndarray, scores: np.ndarray, reason: str | None, fresh: int = 0
) -> UserResult:
    valid = items >= 0
    return UserResult(user_id, served.index.item_ids[items[valid]], scores[valid], reason, fresh)


def recommend(
    served: ServedModel, fallback: ServedModel | None, user_ids: list[int], k: int, log: LiveLog | None = None
) -> list[UserResult]:
    """Top-k per user, items seen in train (and since, in ``log``) excluded. Unknown users, and users
    without history unless the model embeds them from features or folds their logged events in, get the
    fallback (popularity) list, marked with the reason."""
    pos = served.user_rows(user_ids)
    known = pos >= 0
    history = np.zeros(len(user_ids), dtype=bool)
    history[known] = np.diff(served.index.seen.indptr)[pos[known]] > 0
    direct = known & ~served_by_fallback(served.model, history)
    out: list[UserResult | None] = [None] * len(user_ids)
    fresh = fresh_histories(served, log, user_ids, pos) if log is not None else {}
    for at, history_now in fresh.items():
        if isinstance(served.model, FoldIn | SequenceFoldIn) or direct[at]:
            items, scores = fresh_top_k(served, history_now, pos[at], k)
            out[at] = _result(served, user_ids[at], items, scores, None, history_now.events)
        direct[at] = False
    if direct.any():
        items, scores = served.top_k(pos[direct], k)
        for j, row in enumerate(np.flatnonzero(direct)):
            out[row] = _result(served, user_ids[row], items[j], scores[j], None)
    rest = [row for row in np.flatnonzero(~direct) if out[row] is None]
    if not rest:
        return [r for r in out if r is not None]
    if fallback is None:
        raise NoFallback(f"the {FALLBACK} model is not loaded, so user {user_ids[rest[0]]} cannot be served")
    rest_ids = [user_ids[row] for row in rest]
    fb_rows = fallback.user_rows(rest_ids)
    # one read of the log for every user the fallback serves: never show what they interacted with since training
    fb_fresh = fresh_histories(fallback, log, rest_ids, fb_rows) if log is not None else {}
    for j, row in enumerate(rest):
        fb_pos = fb_rows[j]
        reason = f"{FALLBACK}:{'no_history' if known[row] else 'unknown_user'}"
        if j in fb_fresh:
            items, scores = fresh_top_k(fallback, fb_fresh[j], fb_pos, k)
            out[row] = _result(fallback, user_ids[row], items, scores, reason, fb_fresh[j].events)
            continue
        if fb_pos >= 0:  # known user without history: still never show what they interacted with
            items, scores = fallback.model.recommend([fb_pos], k, exclude=fallback.index.seen)
        else:  # popularity scores do not depend on the user row
            items, scores = fallback.model.recommend([0], k)
        out[row] = _result(fallback, user_ids[row], items[0], scores[0], reason)
    return [r for r in out if r is not None]  # every row was filled above


def personal_scores(served: ServedModel, catalogue: Catalogue, user_id: int) -> np.ndarray | None:
    """``served``'s scores of the catalogue's items for one user (NaN for items the model does not
    know); None for a user it cannot rank (unknown, or without history and not embedded from features)."""
    pos = served.user_rows([user_id])[0]
    if pos < 0 or served_by_fallback(served.model, np.diff(served.index.seen.indptr)[[pos]] > 0)[0]:
        return None
    scores = np.asarray(served.model.score_users(np.array([pos]))[0], dtype=np.float64)
    rows = served.item_rows(catalogue.items["item_id"].to_numpy())
    return np.where(rows >= 0, scores[np.maximum(rows, 0)], np.nan)
