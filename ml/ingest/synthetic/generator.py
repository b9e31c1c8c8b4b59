"""Deterministic synthetic e-commerce data with learnable structure.

The generator draws latent user and item factors, category affinities and a segment-dependent price
preference; these define a true affinity ``a(u, i)``. Sessions follow a daily and weekly rhythm,
users differ widely in activity (log-normal), items are exposed with a power-law popularity bias
mixed with a personalised feed, and every impression runs down a funnel
``impression -> view -> click -> add_to_cart -> purchase`` whose probabilities rise with ``a(u, i)``.
Items are released over time (cold-start items) and users sign up over time (cold-start users).
With ``transition_share`` > 0 the world also has order (``ml.ingest.synthetic.order``): item-to-item
transitions in exposure and in response.

Outputs follow the raw data contract in the README (``users``, ``items``, ``events``) plus a ground
truth (:class:`GroundTruth`) holding the affinity vectors and each impression's true click
probability, so evaluation can report an oracle upper bound.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ml import columns as C
from ml.ingest.synthetic.config import (  # noqa: F401 (re-exported)
    AGE_BANDS,
    CATEGORIES,
    COUNTRIES,
    COUNTRY_P,
    FUNNEL,
    HOUR_PROFILE,
    SAMPLE_GROUND_TRUTH,
    SEEDS_DIR,
    SEGMENT_PRICE_PREF,
    SEGMENTS,
    TITLE_EDITIONS,
    TITLE_WORDS,
    WEEKEND_BOOST,
    SyntheticConfig,
)
from ml.ingest.synthetic.files import _add_dirty_rows
from ml.ingest.synthetic.order import chain_exposure, session_boost, successors
from ml.ingest.synthetic.truth import GroundTruth, SyntheticData, funnel
from ml.ingest.synthetic.truth import price_z as truth_price_z


def _weighted_choice_rows(rng: np.random.Generator, cum: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Draw one column per requested row of a row-normalised cumulative weight matrix ``cum``."""
    n_rows, width = cum.shape
    flat = (cum + np.arange(n_rows)[:, None]).ravel()
    pos = np.searchsorted(flat, rows + rng.random(len(rows)), side="right")
    return np.minimum(pos - rows * width, width - 1)


def titles(categories: np.ndarray, seed: int) -> np.ndarray:
    """A plausible title per item from its category's words (TITLE_WORDS), from a random stream of its
    own, so that adding titles changed no other generated value."""
    rng = np.random.default_rng([seed, 7])
    out = []
    for category in categories:
        descriptors, nouns = TITLE_WORDS[category]
        edition = TITLE_EDITIONS[rng.integers(len(TITLE_EDITIONS))]
        words = (descriptors[rng.integers(len(descriptors))], nouns[rng.integers(len(nouns))], edition)
        out.append(" ".join(w for w in words if w))
    return np.asarray(out, dtype=object)


def generate(config: SyntheticConfig | None = None) -> SyntheticData:
    config = config or SyntheticConfig()
    rng = np.random.default_rng(config.seed)
    nu, ni, nd, nf = config.n_users, config.n_items, config.n_days, config.n_factors
    n_cat = len(CATEGORIES)
    start = np.datetime64(config.start_date, "s")
    day_s = 86400

    # ---- items: category, brand, price, release day, latent factors around the category centre
    cat_centres = rng.normal(0, 0.6, (n_cat, nf))
    item_cat = rng.choice(n_cat, ni, p=rng.dirichlet(np.full(n_cat, 5.0)))
    cat_price = np.exp(rng.uniform(2.0, 5.0, n_cat))
    price = np.round(cat_price[item_cat] * np.exp(rng.normal(0, 0.5, ni)), 2)
    brand_k = np.minimum(rng.zipf(1.6, ni), 12) - 1
    brand = np.array([f"{CATEGORIES[c][:4]}_{k:02d}" for c, k in zip(item_cat, brand_k, strict=True)])
    is_new_item = rng.random(ni) < config.new_item_share
    release_day = np.where(is_new_item, rng.integers(1, nd, ni), -rng.integers(1, 720, ni))
    item_factors = cat_centres[item_cat] + rng.normal(0, 0.5, (ni, nf))
    item_quality = rng.normal(0, 0.4, ni)
    price_z = truth_price_z(price)
    pop_rank = rng.permutation(ni) + 1
    exposure_w = pop_rank.astype(float) ** -config.zipf_exponent
    exposure_w /= exposure_w.sum()

    # ---- users: demographics, activity, latent factors, category affinity
    country = rng.choice(len(COUNTRIES), nu, p=COUNTRY_P)
    segment = rng.choice(len(SEGMENTS), nu, p=(0.35, 0.45, 0.2))
    age = rng.choice(len(AGE_BANDS), nu, p=(0.15, 0.3, 0.25, 0.18, 0.12))
    age_cat_pref = rng.normal(0, 0.5, (len(AGE_BANDS), n_cat))
    user_cat = rng.normal(0, 0.3, (nu, n_cat)) + age_cat_pref[age]
    fav = rng.choice(n_cat, (nu, 2))
    user_cat[np.arange(nu), fav[:, 0]] += 1.0
    user_cat[np.arange(nu), fav[:, 1]] += 0.5
    user_factors = rng.normal(0, 0.5, (nu, nf))
    price_pref = np.asarray(SEGMENT_PRICE_PREF)[segment] + rng.normal(0, 0.2, nu)
    is_new_user = rng.random(nu) < config.new_user_share
    signup_day = np.where(is_new_user, rng.integers(0, nd, nu), -rng.integers(1, 1000, nu))
    activity = np.exp(rng.normal(0, 1.0, nu))
    activity /= activity.mean()

    # a(u, i) = U_u . V_i + C[u, cat_i] + q_i + s_u * price_z_i  as one inner product
    user_vectors = np.hstack([user_factors, user_cat, np.ones((nu, 1)), price_pref[:, None]]).astype(np.float32)
    item_vectors = np.hstack([item_factors, np.eye(n_cat)[item_cat], item_quality[:, None], 0.5 * price_z[:, None]]).astype(
        np.float32
    )

    # ---- sessions: Poisson count over each user's active days, weekly thinning, hour profile
    first_day = np.maximum(signup_day, 0)
    active_days = nd - first_day
    n_sess = rng.poisson(config.sessions_per_user_day * activity * active_days * WEEKEND_BOOST)
    s_user = np.repeat(np.arange(nu), n_sess)
    s_day = first_day[s_user] + (rng.random(len(s_user)) * active_days[s_user]).astype(int)
    weekday = (np.datetime64(config.start_date, "D").astype(int) + s_day + 3) % 7  # 0 = Monday
    keep = (weekday >= 5) | (rng.random(len(s_user)) < 1.0 / WEEKEND_BOOST)
    s_user, s_day = s_user[keep], s_day[keep]
    hour = rng.choice(24, len(s_user), p=HOUR_PROFILE / HOUR_PROFILE.sum())
    s_start = s_day * day_s + hour * 3600 + rng.integers(0, 3600, len(s_user))

    # ---- impressions: popularity-biased or personalised exposure of released items
    m = config.impressions_per_session
    imp_sess = np.repeat(np.arange(len(s_user)), m)
    imp_user = s_user[imp_sess]
    imp_day = s_day[imp_sess]
    imp_item = rng.choice(ni, len(imp_sess), p=exposure_w)
    personal = rng.random(len(imp_sess)) < config.personalised_exposure
    pool = min(100, ni)
    pool_items = np.empty((nu, pool), dtype=np.int64)
    pool_cum = np.empty((nu, pool))
    for lo in range(0, nu, 2048):
        aff = user_vectors[lo : lo + 2048] @ item_vectors.T
        top = np.argpartition(-aff, pool - 1, axis=1)[:, :pool]
        w = np.exp(np.take_along_axis(aff, top, axis=1))
        pool_items[lo : lo + 2048] = top
        pool_cum[lo : lo + 2048] = np.cumsum(w / w.sum(1, keepdims=True), axis=1)
    rows = imp_user[personal]
    imp_item[personal] = pool_items[rows, _weighted_choice_rows(rng, pool_cum, rows)]
    successor = successors(item_cat, config.seed) if config.transition_share > 0 else None
    if successor is not None:  # "what's next" slots show the previous impression's successor
        imp_item = chain_exposure(imp_item.reshape(-1, m), successor, config.transition_share, config.seed).ravel()
    for _ in range(8):  # items not yet released are re-drawn from the popularity distribution
        bad = release_day[imp_item] > imp_day
        if not bad.any():
            break
        imp_item[bad] = rng.choice(ni, bad.sum(), p=exposure_w)
    ok = release_day[imp_item] <= imp_day
    imp_sess, imp_user, imp_item = imp_sess[ok], imp_user[ok], imp_item[ok]
    imp_pos = np.arange(len(imp_sess)) % m
    imp_ts = s_start[imp_sess] + imp_pos * 15

    # ---- funnel
    aff = np.empty(len(imp_user), dtype=np.float32)
    for lo in range(0, len(aff), 1_000_000):
        sl = slice(lo, lo + 1_000_000)
        aff[sl] = np.einsum("ij,ij->i", user_vectors[imp_user[sl]], item_vectors[imp_item[sl]])
    u_view = rng.random(len(aff))
    if successor is not None:  # right after viewing an item, its successor is liked more
        aff = session_boost(
            imp_sess, imp_item, aff, u_view, lambda a: funnel(a, np.zeros_like(a))[0], successor, config.transition_boost
        )
    p_view, p_click_view, p_cart, p_buy = funnel(aff, price_z[imp_item])
    viewed = u_view < p_view
    clicked = viewed & (rng.random(len(aff)) < p_click_view)
    carted = clicked & (rng.random(len(aff)) < p_cart)
    bought = carted & (rng.random(len(aff)) < p_buy)
    t_view = imp_ts + rng.integers(1, 10, len(aff))
    t_click = t_view + rng.integers(2, 120, len(aff))
    t_cart = t_click + rng.integers(20, 600, len(aff))
    t_buy = t_cart + rng.integers(30, 1200, len(aff))

    types, users, items, ts, src = [], [], [], [], []
    for name, mask, t in (
        ("impression", np.ones(len(aff), bool), imp_ts),
        ("view", viewed, t_view),
        ("click", clicked, t_click),
        ("add_to_cart", carted, t_cart),
        ("purchase", bought, t_buy),
    ):
        types.append(np.full(mask.sum(), FUNNEL.index(name), dtype=np.int8))
        users.append(imp_user[mask])
        items.append(imp_item[mask])
        ts.append(t[mask])
        src.append(np.flatnonzero(mask) if name == "impression" else np.full(mask.sum(), -1))
    e_type, e_user, e_item, e_ts, e_src = map(np.concatenate, (types, users, items, ts, src))
    order = np.lexsort((e_type, e_ts))
    e_type, e_user, e_item, e_ts, e_src = (a[order] for a in (e_type, e_user, e_item, e_ts, e_src))
    event_id = np.arange(1, len(order) + 1, dtype=np.int64)

    user_ids = np.arange(1, nu + 1, dtype=np.int64)
    item_ids = np.arange(1, ni + 1, dtype=np.int64)
    events = pd.DataFrame(
        {
            C.EVENT_ID: event_id,
            C.USER_ID: user_ids[e_user],
            C.ITEM_ID: item_ids[e_item],
            C.EVENT_TYPE: pd.Categorical.from_codes(e_type, FUNNEL),
            C.EVENT_AT: start + e_ts.astype("timedelta64[s]"),
        }
    )
    users = pd.DataFrame(
        {
            C.USER_ID: user_ids,
            "signup_at": start + (signup_day * day_s + rng.integers(0, day_s, nu)).astype("timedelta64[s]"),
            "country": np.asarray(COUNTRIES)[country],
            "segment": np.asarray(SEGMENTS)[segment],
            "age_band": np.asarray(AGE_BANDS)[age],
        }
    )
    items = pd.DataFrame(
        {
            C.ITEM_ID: item_ids,
            "category": np.asarray(CATEGORIES)[item_cat],
            "title": titles(np.asarray(CATEGORIES)[item_cat], config.seed),
            "brand": brand,
            "price": price,
            # released at the start of the release day, so every impression happens after release
            "released_at": start + (release_day * day_s).astype("timedelta64[s]"),
        }
    )
    imp_mask = e_src >= 0
    gt = GroundTruth(
        user_ids=user_ids,
        item_ids=item_ids,
        user_vectors=user_vectors,
        item_vectors=item_vectors,
        impression_event_ids=event_id[imp_mask],
        click_probability=(p_view * p_click_view)[e_src[imp_mask]].astype(np.float32),
    )
    if successor is not None:
        gt.successor, gt.transition_boost = successor, config.transition_boost
    if config.dirty_share > 0:
        events = _add_dirty_rows(events, config.dirty_share, rng)
    return SyntheticData(users=users, items=items, events=events, ground_truth=gt)
