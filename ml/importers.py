"""Public datasets in their published layouts -> the raw data contract (users, items, events as
Parquet) that ``RECSYS_RAW_DIR`` reads. Nothing is downloaded: point an importer at the unpacked files.

Explicit ratings become one event each whose type follows a rating rule (:data:`DEFAULT_RATING_EVENTS`,
configurable): a rating takes the event type of the highest threshold it reaches, so ratings weigh as
the dbt var ``event_weights`` says (by default 5 stars -> purchase, weight 5; 4-4.5 -> add_to_cart;
3-3.5 -> click; below 3 -> view, weight 1). A rule without a low threshold is a rating threshold:
ratings below every threshold get no event type and are quarantined as ``unknown_event_type``.

- ``movielens-100k``: ``u.data``, ``u.item``, ``u.user``. Category = the first genre; a movie
  without a release date is released at its first rating; occupation -> segment, age -> age band.
- ``movielens-1m`` / ``movielens-10m``: ``ratings.dat`` and ``movies.dat`` (``::``-separated),
  ``users.dat`` when present (1M). Released at 1 January of the year in the title.
- ``movielens-latest`` / ``movielens-25m`` (also 20M, 32M): ``ratings.csv`` and ``movies.csv``.
- ``retailrocket``: ``events.csv`` (view / addtocart / transaction -> view / add_to_cart /
  purchase) and ``item_properties_part*.csv`` (the latest ``categoryid`` is the category, the latest
  property ``790`` the price); items are released when first seen.
- ``amazon-reviews``: a reviews JSONL and its product-metadata JSONL (``--meta``), in the 2018
  (``reviewerID``, ``asin``, ``overall``) or the 2023 layout (``user_id``, ``parent_asin``,
  ``rating``); the first category is the category, ``brand``/``store`` the brand, price parsed from
  text. Text ids are numbered; the original id is kept as ``external_id``.

Brand, price, release dates and user attributes are optional in the contract: what a dataset lacks
is left empty. Titles are kept as an extra ``title`` column.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from ml import columns as C

ML100K_GENRES = [
    "unknown",
    "Action",
    "Adventure",
    "Animation",
    "Children's",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Fantasy",
    "Film-Noir",
    "Horror",
    "Musical",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Thriller",
    "War",
    "Western",
]
DEFAULT_RATING_EVENTS: dict[float, str] = {5: "purchase", 4: "add_to_cart", 3: "click", 0: "view"}
AGE_BANDS = [(0, 18, "<18"), (18, 25, "18-24"), (25, 35, "25-34"), (35, 45, "35-44"), (45, 55, "45-54"), (55, 200, "55+")]


def require(src: Path, dataset: str, *names: str) -> None:
    missing = [n for n in names if not (src / n).exists()]
    if missing:
        raise FileNotFoundError(f"{src} lacks {', '.join(missing)}: point it at the unpacked {dataset} folder")


def rating_rule(rating_events: dict[float, str] | None) -> dict[float, str]:
    rule = dict(rating_events or DEFAULT_RATING_EVENTS)
    unknown = set(rule.values()) - set(C.event_types())
    if unknown:
        raise ValueError(f"rating events {sorted(unknown)} are not event types of dbt var event_weights {C.event_types()}")
    return rule


def rating_event_types(ratings: pd.Series, rule: dict[float, str]) -> pd.Series:
    """The event type of each rating: that of the highest threshold the rating reaches (else missing)."""
    thresholds = sorted(rule)
    position = np.searchsorted(np.asarray(thresholds, dtype=float), ratings.to_numpy(float), side="right") - 1
    names = np.array([rule[t] for t in thresholds] + [None], dtype=object)
    return pd.Series(names[np.where(position >= 0, position, len(thresholds))], index=ratings.index, dtype="object")


def events_frame(ratings: pd.DataFrame, event_type: pd.Series) -> pd.DataFrame:
    """Events in the contract from rating-like rows (user_id, item_id, event_at), sorted by time."""
    frame = pd.DataFrame(
        {C.USER_ID: ratings["user_id"], C.ITEM_ID: ratings["item_id"], C.EVENT_TYPE: event_type, C.EVENT_AT: ratings["event_at"]}
    )
    frame = frame.sort_values([C.EVENT_AT, C.USER_ID, C.ITEM_ID], kind="stable").reset_index(drop=True)
    frame.insert(0, C.EVENT_ID, np.arange(1, len(frame) + 1))
    return frame


def users_from_events(events: pd.DataFrame) -> pd.DataFrame:
    """A users table for datasets without one: every user id of the events, no attributes."""
    ids = np.sort(events[C.USER_ID].unique())
    return pd.DataFrame({C.USER_ID: ids, "signup_at": pd.NaT, "country": pd.NA, "segment": pd.NA, "age_band": pd.NA})


def items_frame(item_id, category, released_at, title=None, brand=None, price=None) -> pd.DataFrame:
    n = len(item_id)
    return pd.DataFrame(
        {
            C.ITEM_ID: np.asarray(item_id),
            "category": np.asarray(category, dtype=object),
            "brand": np.asarray(brand, dtype=object) if brand is not None else np.full(n, None, dtype=object),
            "price": np.asarray(price, dtype=float) if price is not None else np.full(n, np.nan),
            "released_at": pd.to_datetime(np.asarray(released_at)),
            **({"title": np.asarray(title, dtype=object)} if title is not None else {}),
        }
    )


def age_band(age: pd.Series) -> pd.Series:
    bands = pd.Series(pd.NA, index=age.index, dtype="object")
    for lo, hi, label in AGE_BANDS:
        bands[(age >= lo) & (age < hi)] = label
    return bands


def movielens_100k(src: Path, rating_events: dict[float, str] | None = None) -> dict[str, pd.DataFrame]:
    """users / items / events frames in the raw contract from an ``ml-100k`` folder."""
    src = Path(src)
    require(src, "MovieLens 100k (ml-100k/)", "u.data", "u.item", "u.user")
    rule = rating_rule(rating_events)
    ratings = pd.read_csv(src / "u.data", sep="\t", names=["user_id", "item_id", "rating", "ts"])
    ratings["event_at"] = pd.to_datetime(ratings["ts"], unit="s")
    events = events_frame(ratings, rating_event_types(ratings["rating"], rule))
    movies = pd.read_csv(
        src / "u.item",
        sep="|",
        header=None,
        encoding="latin-1",
        names=["item_id", "title", "release", "video_release", "url", *ML100K_GENRES],
    )
    flags = movies[ML100K_GENRES].to_numpy() == 1
    flags[:, 0] &= ~flags[:, 1:].any(axis=1)  # "unknown" only when no other genre is set
    category = np.where(flags.any(axis=1), np.array(ML100K_GENRES)[flags.argmax(axis=1)], "unknown")
    first_rating = events.groupby(C.ITEM_ID)[C.EVENT_AT].min()
    released = pd.to_datetime(movies["release"], format="%d-%b-%Y", errors="coerce")
    released = released.fillna(movies["item_id"].map(first_rating))
    items = items_frame(movies["item_id"], category, released, title=movies["title"])
    people = pd.read_csv(src / "u.user", sep="|", names=["user_id", "age", "gender", "occupation", "zip"])
    users = pd.DataFrame(
        {
            C.USER_ID: people["user_id"],
            "signup_at": pd.NaT,
            "country": pd.NA,
            "segment": people["occupation"],
            "age_band": age_band(people["age"]),
        }
    )
    return {"users": users, "items": items, "events": events}


def write_contract(frames: dict[str, pd.DataFrame], out: Path) -> dict[str, Path]:
    """Write users/items/events as Parquet files (text columns as strings) into ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, frame in frames.items():
        frame = frame.astype({c: "string" for c in frame.columns if frame[c].dtype == object})
        paths[name] = out / f"{name}.parquet"
        frame.to_parquet(paths[name], index=False)
    return paths


ML1M_AGES = {1: "<18", 18: "18-24", 25: "25-34", 35: "35-44", 45: "45-54", 50: "45-54", 56: "55+"}


def movies_frame(movies: pd.DataFrame, first_rating: pd.Series) -> pd.DataFrame:
    """Items from MovieLens ``movies`` (item_id, title, genres 'A|B'): the first genre is the category;
    released at 1 January of the title's year, else at the first rating."""
    year = movies["title"].str.extract(r"\((\d{4})\)\s*$")[0]
    released = pd.to_datetime(year + "-01-01", errors="coerce").fillna(movies["item_id"].map(first_rating))
    category = movies["genres"].str.split("|").str[0].replace({"(no genres listed)": "unknown"})
    return items_frame(movies["item_id"], category, released, title=movies["title"])


def _movielens(ratings: pd.DataFrame, movies: pd.DataFrame, rule: dict[float, str]) -> dict[str, pd.DataFrame]:
    ratings["event_at"] = pd.to_datetime(ratings["ts"], unit="s")
    events = events_frame(ratings, rating_event_types(ratings["rating"], rule))
    return {"items": movies_frame(movies, events.groupby(C.ITEM_ID)[C.EVENT_AT].min()), "events": events}


def movielens_dat(src: Path, rating_events: dict[float, str] | None = None) -> dict[str, pd.DataFrame]:
    """MovieLens 1M / 10M (``::``-separated ``ratings.dat``, ``movies.dat``; ``users.dat`` in 1M)."""
    src = Path(src)
    require(src, "MovieLens 1M/10M (ml-1m/, ml-10M100K/)", "ratings.dat", "movies.dat")

    def read(name: str, columns: list[str]) -> pd.DataFrame:
        text = (src / name).read_text(encoding="latin-1")
        rows = [line.split("::") for line in text.splitlines() if line]
        return pd.DataFrame(rows, columns=columns)

    ratings = read("ratings.dat", ["user_id", "item_id", "rating", "ts"]).astype(
        {"user_id": "int64", "item_id": "int64", "rating": "float64", "ts": "int64"}
    )
    movies = read("movies.dat", ["item_id", "title", "genres"]).astype({"item_id": "int64"})
    frames = _movielens(ratings, movies, rating_rule(rating_events))
    if (src / "users.dat").exists():
        people = read("users.dat", ["user_id", "gender", "age", "occupation", "zip"]).astype({"user_id": "int64", "age": "int64"})
        users = pd.DataFrame(
            {
                C.USER_ID: people["user_id"],
                "signup_at": pd.NaT,
                "country": pd.NA,
                "segment": "occupation_" + people["occupation"],
                "age_band": people["age"].map(ML1M_AGES),
            }
        )
    else:
        users = users_from_events(frames["events"])
    return {"users": users, **frames}


def movielens_csv(src: Path, rating_events: dict[float, str] | None = None) -> dict[str, pd.DataFrame]:
    """MovieLens latest / 20M / 25M / 32M (``ratings.csv``, ``movies.csv``)."""
    src = Path(src)
    require(src, "MovieLens latest/25M (ml-latest-small/, ml-25m/)", "ratings.csv", "movies.csv")
    ratings = pd.read_csv(src / "ratings.csv").rename(columns={"userId": "user_id", "movieId": "item_id", "timestamp": "ts"})
    movies = pd.read_csv(src / "movies.csv").rename(columns={"movieId": "item_id"})
    frames = _movielens(ratings, movies, rating_rule(rating_events))
    return {"users": users_from_events(frames["events"]), **frames}


RETAILROCKET_EVENTS = {"view": "view", "addtocart": "add_to_cart", "transaction": "purchase"}
RETAILROCKET_PRICE = "790"


def retailrocket(src: Path, rating_events: dict[float, str] | None = None) -> dict[str, pd.DataFrame]:
    """RetailRocket-style e-commerce logs: ``events.csv`` and ``item_properties_part*.csv``."""
    src = Path(src)
    require(src, "RetailRocket", "events.csv")
    raw = pd.read_csv(src / "events.csv").rename(columns={"visitorid": "user_id", "itemid": "item_id"})
    raw["event_at"] = pd.to_datetime(raw["timestamp"], unit="ms")
    events = events_frame(raw, raw["event"].map(RETAILROCKET_EVENTS).astype(object))
    parts = sorted(src.glob("item_properties*.csv"))
    props = (
        pd.concat([pd.read_csv(p) for p in parts], ignore_index=True)
        if parts
        else pd.DataFrame(columns=["timestamp", "itemid", "property", "value"])
    )
    props = props.rename(columns={"itemid": "item_id"}).sort_values("timestamp", kind="stable")
    latest = props.drop_duplicates(["item_id", "property"], keep="last").pivot(
        index="item_id", columns="property", values="value"
    )
    item_ids = np.union1d(events[C.ITEM_ID].unique(), latest.index.to_numpy()).astype(np.int64)
    latest = latest.reindex(item_ids)
    first_seen = pd.concat(
        [events.groupby(C.ITEM_ID)[C.EVENT_AT].min(), pd.to_datetime(props.groupby("item_id")["timestamp"].min(), unit="ms")],
        axis=1,
    ).min(axis=1)
    category = latest["categoryid"] if "categoryid" in latest else pd.Series(pd.NA, index=item_ids)
    price = latest[RETAILROCKET_PRICE] if RETAILROCKET_PRICE in latest else pd.Series(np.nan, index=item_ids)
    items = items_frame(
        item_ids,
        category.fillna("unknown").astype(str).map(lambda c: c if c == "unknown" else f"category_{c}"),
        first_seen.reindex(item_ids),
        price=pd.to_numeric(price.astype("string").str.lstrip("n").str.split(" ").str[0], errors="coerce"),
    )
    return {"users": users_from_events(events), "items": items, "events": events}


def _read_jsonl(path: Path) -> pd.DataFrame:
    return pd.read_json(path, lines=True, dtype=False, compression="infer")


def _price(value) -> float:
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        number = pd.to_numeric(value.replace("$", "").replace(",", "").strip(), errors="coerce")
        return float(number)
    return float("nan")


def amazon_reviews(src: Path, rating_events: dict[float, str] | None = None, meta: Path | None = None) -> dict[str, pd.DataFrame]:
    """Amazon reviews JSONL (2018 or 2023 layout) and its product metadata JSONL (``meta``; else the
    ``meta_*.jsonl[.gz]`` next to the reviews file)."""
    src = Path(src)
    if not src.is_file():
        raise FileNotFoundError(f"{src}: give the reviews .jsonl (or .json / .jsonl.gz) file")
    if meta is None:
        found = sorted(p for p in src.parent.glob("meta*") if p.is_file())
        meta = found[0] if found else None
    reviews = _read_jsonl(src)
    if "reviewerID" in reviews:  # 2018 layout
        reviews = reviews.rename(columns={"reviewerID": "user", "asin": "product", "overall": "rating"})
        reviews["event_at"] = pd.to_datetime(reviews["unixReviewTime"], unit="s")
    else:  # 2023 layout
        product = "parent_asin" if "parent_asin" in reviews else "asin"
        reviews = reviews.rename(columns={"user_id": "user", product: "product"})
        reviews["event_at"] = pd.to_datetime(reviews["timestamp"], unit="ms")
    products = _read_jsonl(meta) if meta is not None else pd.DataFrame(columns=["asin"])
    key = "parent_asin" if "parent_asin" in products else "asin"
    products = products.drop_duplicates(key).set_index(key)
    users = pd.Index(np.sort(reviews["user"].astype(str).unique()))
    item_ext = pd.Index(np.sort(np.union1d(reviews["product"].astype(str).unique(), products.index.astype(str))))
    reviews["user_id"] = users.get_indexer(reviews["user"].astype(str)) + 1
    reviews["item_id"] = item_ext.get_indexer(reviews["product"].astype(str)) + 1
    events = events_frame(reviews, rating_event_types(reviews["rating"], rating_rule(rating_events)))
    products = products.reindex(item_ext)

    def first(values) -> object:
        if isinstance(values, list | np.ndarray) and len(values):
            inner = values[0]
            return first(inner) if isinstance(inner, list) else inner
        return values if isinstance(values, str) and values else None

    cats = products["categories"] if "categories" in products else products.get("category", pd.Series(None, index=item_ext))
    category = [
        first(c) or (m if isinstance(m, str) and m else "unknown")
        for c, m in zip(cats, products.get("main_category", pd.Series(None, index=item_ext)), strict=True)
    ]
    brand = products["brand"] if "brand" in products else products.get("store", pd.Series(None, index=item_ext))
    first_review = events.groupby(C.ITEM_ID)[C.EVENT_AT].min()
    item_ids = np.arange(1, len(item_ext) + 1)
    items = items_frame(
        item_ids,
        category,
        pd.Series(item_ids).map(first_review),
        title=products.get("title", pd.Series(None, index=item_ext)).to_numpy(),
        brand=[b if isinstance(b, str) and b else None for b in brand],
        price=[_price(p) for p in products.get("price", pd.Series(None, index=item_ext))],
    )
    items["external_id"] = item_ext.to_numpy()
    user_frame = pd.DataFrame(
        {C.USER_ID: np.arange(1, len(users) + 1), "signup_at": pd.NaT, "country": pd.NA, "segment": pd.NA, "age_band": pd.NA}
    )
    user_frame["external_id"] = users.to_numpy()
    return {"users": user_frame, "items": items, "events": events}


IMPORTERS: dict[str, Callable[..., dict[str, pd.DataFrame]]] = {
    "movielens-100k": movielens_100k,
    "movielens-1m": movielens_dat,
    "movielens-10m": movielens_dat,
    "movielens-latest": movielens_csv,
    "movielens-25m": movielens_csv,
    "retailrocket": retailrocket,
    "amazon-reviews": amazon_reviews,
}
