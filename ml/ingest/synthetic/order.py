"""Order in the synthetic world: item-to-item transitions in the hidden truth, so that the sequence of a
user's steps carries information a model that reads order (SASRec) can use and one that reads a set
cannot.

Each item gets a successor, drawn among the items of its category (seeded, a stream of its own). Two
things follow from it when ``transition_share`` > 0:

- exposure: a session's impression shows, with probability ``transition_share``, the successor of the
  session's previous impression ("what's next" slots), so transitions are seen;
- response: right after a user viewed an item in a session, its successor's affinity is raised by
  ``transition_boost`` for that user in that session (every funnel stage follows the affinity), so
  transitions are taken.

The ground truth keeps the successor table and the boost; the oracle adds the boost to the successor of
each user's last step.
"""

from __future__ import annotations

import numpy as np


def successors(item_category: np.ndarray, seed: int) -> np.ndarray:
    """One successor per item: another item of its category (itself only when alone in it)."""
    rng = np.random.default_rng([seed, 11])
    out = np.arange(len(item_category))
    for category in np.unique(item_category):
        members = np.flatnonzero(item_category == category)
        if len(members) > 1:
            shifted = rng.permutation(members)  # a random cycle through the category: never the item itself
            out[shifted] = np.roll(shifted, -1)
    return out


def chain_exposure(items: np.ndarray, successor: np.ndarray, share: float, seed: int) -> np.ndarray:
    """``items`` (sessions x slots) where each slot after the first shows, with probability ``share``,
    the successor of the slot before it (after the chaining of that slot)."""
    rng = np.random.default_rng([seed, 12])
    items = items.copy()
    for slot in range(1, items.shape[1]):
        chained = rng.random(items.shape[0]) < share
        items[chained, slot] = successor[items[chained, slot - 1]]
    return items


def session_boost(
    sessions: np.ndarray, items: np.ndarray, affinity: np.ndarray, u_view: np.ndarray, p_view, successor: np.ndarray, boost: float
) -> np.ndarray:
    """The affinity of each impression (in session then time order) with ``boost`` added where the item
    succeeds the last item its session's user viewed before it; whether an impression is viewed is
    ``u_view < p_view(affinity)``, decided slot by slot because it changes the next slot's affinity."""
    affinity = affinity.copy()
    starts = np.r_[0, np.flatnonzero(np.diff(sessions)) + 1]
    rank = np.arange(len(sessions)) - np.repeat(starts, np.diff(np.r_[starts, len(sessions)]))
    last_viewed = np.full(sessions.max() + 1 if len(sessions) else 0, -1)
    for r in range(int(rank.max()) + 1 if len(rank) else 0):
        at = np.flatnonzero(rank == r)
        previous = last_viewed[sessions[at]]
        hit = (previous >= 0) & (successor[np.maximum(previous, 0)] == items[at])
        affinity[at[hit]] += boost
        viewed = u_view[at] < p_view(affinity[at])
        last_viewed[sessions[at[viewed]]] = items[at[viewed]]
    return affinity
