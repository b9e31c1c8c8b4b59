"""Deterministic synthetic e-commerce data with learnable structure.

The generator draws latent user and item factors, category affinities and a segment-dependent price
preference; these define a true affinity ``a(u, i)``. Sessions follow a daily and weekly rhythm,
users differ widely in activity (log-normal), items are exposed with a power-law popularity bias
mixed with a personalised feed, and every impression runs down a funnel
``impression -> view -> click -> add_to_cart -> purchase`` whose probabilities rise with ``a(u, i)``.
Items are released over time (cold-start items) and users sign up over time (cold-start users).

Outputs follow the raw data contract in the README (``users``, ``items``, ``events``) plus a ground
truth (:class:`GroundTruth`) holding the affinity vectors and each impression's true click
probability, so evaluation can report an oracle upper bound.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ml import columns as C

# the event types the generator emits: the funnel every impression runs down (the dbt var event_weights
# must name them, a test checks it)
FUNNEL = ("impression", "view", "click", "add_to_cart", "purchase")

CATEGORIES = (
    "electronics", "books", "fashion", "home", "sports", "beauty",
    "toys", "grocery", "garden", "music", "games", "auto",
)
COUNTRIES = ("US", "DE", "FR", "GB", "BR", "IN", "JP", "ES")
COUNTRY_P = (0.30, 0.14, 0.10, 0.12, 0.10, 0.12, 0.07, 0.05)
SEGMENTS = ("budget", "mainstream", "premium")
SEGMENT_PRICE_PREF = (-0.6, 0.0, 0.6)
AGE_BANDS = ("18-24", "25-34", "35-44", "45-54", "55+")
# share of sessions starting in each hour of the day: night trough, lunch bump, evening peak
HOUR_PROFILE = np.array(
    [1, 0.6, 0.4, 0.3, 0.3, 0.5, 1, 2, 3, 3.5, 3.5, 4, 5, 4.5, 4, 4, 4.5, 5, 6, 7.5, 8, 7, 5, 2.5]
)
WEEKEND_BOOST = 1.3
SEEDS_DIR = Path(__file__).resolve().parents[1] / "dbt_project" / "seeds"
SAMPLE_GROUND_TRUTH = Path(__file__).resolve().parents[1] / "data" / "sample" / "ground_truth.npz"


@dataclass(frozen=True)
class SyntheticConfig:
    """Scale and shape of a synthetic dataset. The defaults give the committed sample."""

    n_users: int = 1500
    n_items: int = 1000
    n_days: int = 60
    start_date: str = "2026-01-01"
    seed: int = 42
    n_factors: int = 8
    sessions_per_user_day: float = 0.09
    impressions_per_session: int = 8
    personalised_exposure: float = 0.5
    new_item_share: float = 0.2
    new_user_share: float = 0.15
    zipf_exponent: float = 1.0
    dirty_share: float = 0.0

    @classmethod
    def for_events(cls, n_events: int, **overrides) -> SyntheticConfig:
        """A configuration sized to produce roughly ``n_events`` events (more users, same behaviour)."""
        base = cls(**overrides)
        # measured: about 2.15 events per impression slot at scale (funnel events included, late signups excluded)
        per_user = 2.15 * base.n_days * base.sessions_per_user_day * base.impressions_per_session
        n_users = overrides.get("n_users") or max(1000, int(n_events / per_user))
        n_items = overrides.get("n_items") or max(1000, n_users // 10)
        return dataclasses.replace(base, n_users=n_users, n_items=n_items)


@dataclass
class GroundTruth:
    """True affinity ``a(u, i) = user_vectors[u] . item_vectors[i]`` and true impression click probabilities."""

    user_ids: np.ndarray
    item_ids: np.ndarray
    user_vectors: np.ndarray
    item_vectors: np.ndarray
    impression_event_ids: np.ndarray
    click_probability: np.ndarray

    def affinity(self, user_rows: np.ndarray, item_rows: np.ndarray | None = None) -> np.ndarray:
        """Affinity of the given users (row positions in ``user_ids``) to all or the given items."""
        items = self.item_vectors if item_rows is None else self.item_vectors[item_rows]
        return self.user_vectors[user_rows] @ items.T

    def save(self, path: str | Path) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(path, **dataclasses.asdict(self))

    @classmethod
    def load(cls, path: str | Path) -> GroundTruth:
        with np.load(path) as f:
            return cls(**{field.name: f[field.name] for field in dataclasses.fields(cls)})


@dataclass
class SyntheticData:
    users: pd.DataFrame
    items: pd.DataFrame
    events: pd.DataFrame
    ground_truth: GroundTruth


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _weighted_choice_rows(rng: np.random.Generator, cum: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Draw one column per requested row of a row-normalised cumulative weight matrix ``cum``."""
    n_rows, width = cum.shape
    flat = (cum + np.arange(n_rows)[:, None]).ravel()
    pos = np.searchsorted(flat, rows + rng.random(len(rows)), side="right")
    return np.minimum(pos - rows * width, width - 1)


def generate(config: SyntheticConfig = SyntheticConfig()) -> SyntheticData:
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
    log_price = np.log(price)
    price_z = (log_price - log_price.mean()) / log_price.std()
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
    item_vectors = np.hstack(
        [item_factors, np.eye(n_cat)[item_cat], item_quality[:, None], 0.5 * price_z[:, None]]
    ).astype(np.float32)

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
        aff = user_vectors[lo:lo + 2048] @ item_vectors.T
        top = np.argpartition(-aff, pool - 1, axis=1)[:, :pool]
        w = np.exp(np.take_along_axis(aff, top, axis=1))
        pool_items[lo:lo + 2048] = top
        pool_cum[lo:lo + 2048] = np.cumsum(w / w.sum(1, keepdims=True), axis=1)
    rows = imp_user[personal]
    imp_item[personal] = pool_items[rows, _weighted_choice_rows(rng, pool_cum, rows)]
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
    p_view = _sigmoid(-2.2 + 1.0 * aff)
    p_click_view = _sigmoid(-1.2 + 1.0 * aff)
    p_cart = _sigmoid(-1.8 + 0.8 * aff)
    p_buy = _sigmoid(-1.0 + 0.6 * aff - 0.3 * price_z[imp_item])
    viewed = rng.random(len(aff)) < p_view
    clicked = viewed & (rng.random(len(aff)) < p_click_view)
    carted = clicked & (rng.random(len(aff)) < p_cart)
    bought = carted & (rng.random(len(aff)) < p_buy)
    t_view = imp_ts + rng.integers(1, 10, len(aff))
    t_click = t_view + rng.integers(2, 120, len(aff))
    t_cart = t_click + rng.integers(20, 600, len(aff))
    t_buy = t_cart + rng.integers(30, 1200, len(aff))

    types, users, items, ts, src = [], [], [], [], []
    for name, mask, t in (
        ("impression", np.ones(len(aff), bool), imp_ts), ("view", viewed, t_view),
        ("click", clicked, t_click), ("add_to_cart", carted, t_cart), ("purchase", bought, t_buy),
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
    events = pd.DataFrame({
        C.EVENT_ID: event_id,
        C.USER_ID: user_ids[e_user],
        C.ITEM_ID: item_ids[e_item],
        C.EVENT_TYPE: pd.Categorical.from_codes(e_type, FUNNEL),
        C.EVENT_AT: start + e_ts.astype("timedelta64[s]"),
    })
    users = pd.DataFrame({
        C.USER_ID: user_ids,
        "signup_at": start + (signup_day * day_s + rng.integers(0, day_s, nu)).astype("timedelta64[s]"),
        "country": np.asarray(COUNTRIES)[country],
        "segment": np.asarray(SEGMENTS)[segment],
        "age_band": np.asarray(AGE_BANDS)[age],
    })
    items = pd.DataFrame({
        C.ITEM_ID: item_ids,
        "category": np.asarray(CATEGORIES)[item_cat],
        "brand": brand,
        "price": price,
        # released at the start of the release day, so every impression happens after release
        "released_at": start + (release_day * day_s).astype("timedelta64[s]"),
    })
    imp_mask = e_src >= 0
    gt = GroundTruth(
        user_ids=user_ids, item_ids=item_ids, user_vectors=user_vectors, item_vectors=item_vectors,
        impression_event_ids=event_id[imp_mask],
        click_probability=(p_view * p_click_view)[e_src[imp_mask]].astype(np.float32),
    )
    if config.dirty_share > 0:
        events = _add_dirty_rows(events, config.dirty_share, rng)
    return SyntheticData(users=users, items=items, events=events, ground_truth=gt)


def _add_dirty_rows(events: pd.DataFrame, share: float, rng: np.random.Generator) -> pd.DataFrame:
    """Append realistic defects (kept apart from the ground truth) so quarantine has work to do."""
    n = max(5, int(len(events) * share / 6))
    ev = events.astype({C.EVENT_TYPE: str, C.EVENT_AT: str, C.USER_ID: object, C.ITEM_ID: object})
    pick = lambda: ev.iloc[rng.choice(len(ev), n, replace=False)].copy()  # noqa: E731
    next_id = int(events[C.EVENT_ID].max()) + 1
    dup = pick()  # exact duplicates keep their event_id
    missing_user = pick().assign(**{C.USER_ID: None})
    bad_type = pick().assign(**{C.EVENT_TYPE: "hover"})
    bad_ts = pick().assign(**{C.EVENT_AT: "not-a-timestamp"})
    old_ts = pick().assign(**{C.EVENT_AT: "1970-01-01 00:00:00"})
    unknown_item = pick().assign(**{C.ITEM_ID: 99_999_999})
    fresh = [missing_user, bad_type, bad_ts, old_ts, unknown_item]
    for i, frame in enumerate(fresh):
        frame[C.EVENT_ID] = np.arange(next_id + i * n, next_id + (i + 1) * n)
    out = pd.concat([ev, dup, *fresh], ignore_index=True)
    return out.sort_values(C.EVENT_ID, kind="stable").reset_index(drop=True)


def write_csv(data: SyntheticData, directory: str | Path, prefix: str = "raw_") -> dict[str, Path]:
    """Write the contract tables as CSV (the dbt seeds use ``prefix='raw_'``)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, frame in (("users", data.users), ("items", data.items), ("events", data.events)):
        paths[name] = directory / f"{prefix}{name}.csv"
        frame.to_csv(paths[name], index=False, date_format="%Y-%m-%d %H:%M:%S")
    return paths


def write_parquet(data: SyntheticData, directory: str | Path) -> dict[str, Path]:
    """Write the contract tables as Parquet files ``users.parquet``, ``items.parquet``, ``events.parquet``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, frame in (("users", data.users), ("items", data.items), ("events", data.events)):
        if name == "events" and frame[C.EVENT_TYPE].dtype.name == "category":
            frame = frame.astype({C.EVENT_TYPE: str})
        paths[name] = directory / f"{name}.parquet"
        frame.to_parquet(paths[name], index=False)
    return paths
