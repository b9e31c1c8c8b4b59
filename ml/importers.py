"""Public datasets in their published layouts -> the raw data contract (users, items, events as
Parquet) that ``RECSYS_RAW_DIR`` reads.

MovieLens 100k (``u.data``, ``u.item``, ``u.user``): every rating becomes one event whose type comes
from the rating (:data:`DEFAULT_RATING_EVENTS`, configurable), so explicit ratings weigh as the dbt
var ``event_weights`` says (by default 5 stars -> purchase, weight 5; 1-2 stars -> view, weight 1).
The first genre of a movie is its category; brand and price are absent (optional in the contract);
a movie without a release date is released at its first rating; the occupation is the user's
segment and the age its age band; the title is kept as an extra column.
"""

from __future__ import annotations

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
DEFAULT_RATING_EVENTS = {5: "purchase", 4: "add_to_cart", 3: "click", 2: "view", 1: "view"}
AGE_BANDS = [(0, 18, "<18"), (18, 25, "18-24"), (25, 35, "25-34"), (35, 45, "35-44"), (45, 55, "45-54"), (55, 200, "55+")]


def require(src: Path, *names: str) -> None:
    missing = [n for n in names if not (src / n).exists()]
    if missing:
        raise FileNotFoundError(f"{src} lacks {', '.join(missing)}: point it at the unpacked MovieLens 100k folder (ml-100k/)")


def age_band(age: pd.Series) -> pd.Series:
    bands = pd.Series(pd.NA, index=age.index, dtype="object")
    for lo, hi, label in AGE_BANDS:
        bands[(age >= lo) & (age < hi)] = label
    return bands


def movielens_100k(src: Path, rating_events: dict[int, str] | None = None) -> dict[str, pd.DataFrame]:
    """users / items / events frames in the raw contract from an ``ml-100k`` folder."""
    src = Path(src)
    require(src, "u.data", "u.item", "u.user")
    rating_events = rating_events or DEFAULT_RATING_EVENTS
    unknown = set(rating_events.values()) - set(C.event_types())
    if unknown:
        raise ValueError(f"rating events {sorted(unknown)} are not event types of dbt var event_weights {C.event_types()}")
    ratings = pd.read_csv(src / "u.data", sep="\t", names=["user_id", "item_id", "rating", "ts"])
    ratings = ratings.sort_values(["ts", "user_id", "item_id"], kind="stable").reset_index(drop=True)
    events = pd.DataFrame(
        {
            C.EVENT_ID: np.arange(1, len(ratings) + 1),
            C.USER_ID: ratings["user_id"],
            C.ITEM_ID: ratings["item_id"],
            C.EVENT_TYPE: ratings["rating"].map(rating_events),
            C.EVENT_AT: pd.to_datetime(ratings["ts"], unit="s"),
        }
    )
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
    items = pd.DataFrame(
        {
            C.ITEM_ID: movies["item_id"],
            "category": category,
            "brand": pd.NA,
            "price": np.nan,
            "released_at": released,
            "title": movies["title"],
        }
    )
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


IMPORTERS = {"movielens-100k": movielens_100k}
