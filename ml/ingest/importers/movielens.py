"""MovieLens in its published layouts: 100K (``u.data``), 1M/10M (``.dat``), latest/20M/25M/32M (``.csv``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ml import columns as C
from ml.ingest.importers.common import (
    age_band,
    events_frame,
    items_frame,
    rating_event_types,
    rating_rule,
    require,
    users_from_events,
)

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
