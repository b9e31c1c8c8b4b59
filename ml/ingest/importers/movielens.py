"""MovieLens in its published layouts: 100K (``u.data``), 1M/10M (``.dat``), latest/20M/25M/32M (``.csv``).

Every field is read as text and checked (:mod:`~ml.ingest.importers.fields`): ratings on the scale the
release documents (whole stars 1-5 in 100K and 1M, half stars 0.5-5 later), integer ids, timestamps in
seconds. Encodings are detected (UTF-8 when valid, else latin-1, as 100K and 1M are published) or set
by ``encoding``.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from ml import columns as C
from ml.ingest.importers.common import (
    Imported,
    age_band,
    events_frame,
    items_frame,
    rating_event_types,
    rating_rule,
    require,
    users_from_events,
)
from ml.ingest.importers.fields import RowChecks, first_line_ids
from ml.ingest.importers.reading import Ledger, read_delimited

ML100K_GENRES = ["unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary", "Drama"]
ML100K_GENRES += ["Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller", "War", "Western"]
WHOLE_STARS = np.arange(1.0, 6.0)
HALF_STARS = np.arange(0.5, 5.5, 0.5)
ML1M_AGES = {"1": "<18", "18": "18-24", "25": "25-34", "35": "35-44", "45": "45-54", "50": "45-54", "56": "55+"}
RATING_COLUMNS = ["user_id", "item_id", "rating", "ts"]


def ratings_events(
    table, file: str, ledger: Ledger, rule: dict[float, str], stars: np.ndarray, fields: list[str] = RATING_COLUMNS
) -> pd.DataFrame:
    """Checked rating rows (``fields``: the file's names of user, item, rating, time) -> events, with a
    stable id per distinct line content."""
    checks = RowChecks(table, file, ledger)
    user, item = checks.integer(fields[0]), checks.integer(fields[1])
    scale = f"{stars.min():g}-{stars.max():g} ({'half' if len(stars) > 5 else 'whole'} stars)"
    rating = checks.number(fields[2], stars, scale)
    at = checks.unix_time(fields[3], "s", "MovieLens timestamps")
    keep = checks.kept()
    rows = pd.DataFrame({"user_id": user[keep], "item_id": item[keep], "event_at": at[keep]})
    rows["event_id"] = first_line_ids(checks.lines[keep], user[keep], item[keep], rating[keep], at[keep])
    return events_frame(rows, rating_event_types(pd.Series(rating[keep]), rule))


def movielens_100k(src: Path, rating_events: dict[float, str] | None = None, encoding: str = "auto") -> Imported:
    """users / items / events frames in the raw contract from an ``ml-100k`` folder."""
    src = Path(src)
    require(src, "MovieLens 100k (ml-100k/)", "u.data", "u.item", "u.user")
    ledger, rule = Ledger(), rating_rule(rating_events)
    read = partial(read_delimited, ledger=ledger, encoding=encoding)
    events = ratings_events(read(src / "u.data", RATING_COLUMNS, sep="\t"), "u.data", ledger, rule, WHOLE_STARS)
    columns = ["item_id", "title", "release", "video_release", "url", *ML100K_GENRES]
    checks = RowChecks(read(src / "u.item", columns, sep="|"), "u.item", ledger)
    item_id = checks.integer("item_id")
    checks.unique(item_id, "item_id")
    release = checks.text("release", required=False)
    released = pd.to_datetime(pd.Series(release), format="%d-%b-%Y", errors="coerce").to_numpy()
    checks.fail((release != "") & pd.isna(released), "release", "not a date like 01-Jan-1995")
    flags = np.zeros((len(item_id), len(ML100K_GENRES)), dtype=bool)
    for j, genre in enumerate(ML100K_GENRES):
        flag = checks.text(genre)
        checks.fail(~np.isin(flag, ["0", "1"]), genre, "not 0 or 1")
        flags[:, j] = flag == "1"
    keep = checks.kept()
    flags, item_id, released = flags[keep], item_id[keep], released[keep]
    flags[:, 0] &= ~flags[:, 1:].any(axis=1)  # "unknown" only when no other genre is set
    category = np.where(flags.any(axis=1), np.array(ML100K_GENRES)[flags.argmax(axis=1)], "unknown")
    first_rating = events.groupby(C.ITEM_ID)[C.EVENT_AT].min()
    released = pd.Series(released).fillna(pd.Series(item_id).map(first_rating))
    items = items_frame(item_id, category, released, title=checks.text("title", required=False)[keep])
    checks = RowChecks(read(src / "u.user", ["user_id", "age", "gender", "occupation", "zip"], sep="|"), "u.user", ledger)
    user_id, age = checks.integer("user_id"), checks.integer("age")
    checks.unique(user_id, "user_id")
    occupation = checks.text("occupation", required=False)
    keep = checks.kept()
    users = pd.DataFrame(
        {
            C.USER_ID: user_id[keep],
            "signup_at": pd.NaT,
            "country": pd.NA,
            "segment": pd.Series(occupation[keep]).replace("", pd.NA),
            "age_band": age_band(pd.Series(age[keep])),
        }
    )
    return Imported({"users": users, "items": items, "events": events}, ledger)


def movies_frame(table, file: str, ledger: Ledger, first_rating: pd.Series, id_field: str = "item_id") -> pd.DataFrame:
    """Items from MovieLens ``movies`` (id, title, genres 'A|B'): the first genre is the category;
    released at 1 January of the title's year, else at the first rating."""
    checks = RowChecks(table, file, ledger)
    item_id = checks.integer(id_field)
    checks.unique(item_id, id_field)
    title, genres = checks.text("title", required=False), checks.text("genres", required=False)
    keep = checks.kept()
    title, item_id = pd.Series(title[keep]), item_id[keep]
    year = title.str.extract(r"\((\d{4})\)\s*$")[0]
    released = pd.to_datetime(year + "-01-01", errors="coerce").fillna(pd.Series(item_id).map(first_rating))
    category = pd.Series(genres[keep]).str.split("|").str[0].replace({"(no genres listed)": "unknown", "": "unknown"})
    return items_frame(item_id, category, released, title=title.replace("", None))


def movielens_dat(
    src: Path, rating_events: dict[float, str] | None = None, encoding: str = "auto", half_stars: bool = False
) -> Imported:
    """MovieLens 1M (whole stars) / 10M (half stars): ``::``-separated ``ratings.dat``, ``movies.dat``
    (a title holding ``::`` is kept whole), ``users.dat`` in 1M."""
    src = Path(src)
    require(src, "MovieLens 1M/10M (ml-1m/, ml-10M100K/)", "ratings.dat", "movies.dat")
    ledger = Ledger()
    read = partial(read_delimited, ledger=ledger, sep="::", encoding=encoding)
    stars = HALF_STARS if half_stars else WHOLE_STARS
    events = ratings_events(read(src / "ratings.dat", RATING_COLUMNS), "ratings.dat", ledger, rating_rule(rating_events), stars)
    movies = read(src / "movies.dat", ["item_id", "title", "genres"], join_surplus_into=1)
    frames = {"items": movies_frame(movies, "movies.dat", ledger, events.groupby(C.ITEM_ID)[C.EVENT_AT].min()), "events": events}
    if not (src / "users.dat").exists():
        return Imported({"users": users_from_events(events), **frames}, ledger)
    checks = RowChecks(read(src / "users.dat", ["user_id", "gender", "age", "occupation", "zip"]), "users.dat", ledger)
    user_id = checks.integer("user_id")
    checks.unique(user_id, "user_id")
    age = checks.one_of("age", ML1M_AGES)
    occupation = checks.integer("occupation")
    keep = checks.kept()
    users = pd.DataFrame(
        {
            C.USER_ID: user_id[keep],
            "signup_at": pd.NaT,
            "country": pd.NA,
            "segment": [f"occupation_{o}" for o in occupation[keep]],
            "age_band": pd.Series(age[keep]).map(ML1M_AGES),
        }
    )
    return Imported({"users": users, **frames}, ledger)


def movielens_csv(src: Path, rating_events: dict[float, str] | None = None, encoding: str = "auto") -> Imported:
    """MovieLens latest / 20M / 25M / 32M (``ratings.csv``, ``movies.csv``; half stars 0.5-5)."""
    src = Path(src)
    require(src, "MovieLens latest/25M (ml-latest-small/, ml-25m/)", "ratings.csv", "movies.csv")
    ledger = Ledger()
    read = partial(read_delimited, ledger=ledger, sep=",", header=True, quoted=True, encoding=encoding)
    fields = ["userId", "movieId", "rating", "timestamp"]
    events = ratings_events(
        read(src / "ratings.csv", fields), "ratings.csv", ledger, rating_rule(rating_events), HALF_STARS, fields
    )
    movies = read(src / "movies.csv", ["movieId", "title", "genres"])
    items = movies_frame(movies, "movies.csv", ledger, events.groupby(C.ITEM_ID)[C.EVENT_AT].min(), "movieId")
    return Imported({"users": users_from_events(events), "items": items, "events": events}, ledger)
