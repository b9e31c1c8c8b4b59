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

Every field is read as text and checked as staging checks raw rows: a row whose id, rating or
timestamp is missing or invalid, or whose rating lies outside the scale the release documents, is
rejected with its file, line, field, value and reason (``import_rejects.csv`` beside the output), never
coerced; rows in = rows kept + rows rejected, per file. A file without its format's shape, and
timestamps outside ``event_time_min``..now (a wrong unit), stop the import with one line that says
what to fix. A line repeated verbatim keeps one event id (the line it first appears on), so staging
quarantines the repeats as ``exact_duplicate``.

Brand, price, release dates and user attributes are optional in the contract: what a dataset lacks
is left empty. Titles are kept as an extra ``title`` column.
"""

from collections.abc import Callable
from functools import partial

from ml.ingest.importers.amazon import amazon_reviews
from ml.ingest.importers.common import DEFAULT_RATING_EVENTS, Imported
from ml.ingest.importers.movielens import movielens_100k, movielens_csv, movielens_dat
from ml.ingest.importers.reading import ImportFileError
from ml.ingest.importers.retailrocket import retailrocket

IMPORTERS: dict[str, Callable[..., Imported]] = {
    "movielens-100k": movielens_100k,
    "movielens-1m": movielens_dat,
    "movielens-10m": partial(movielens_dat, half_stars=True),
    "movielens-latest": movielens_csv,
    "movielens-25m": movielens_csv,
    "retailrocket": retailrocket,
    "amazon-reviews": amazon_reviews,
}

__all__ = ["DEFAULT_RATING_EVENTS", "IMPORTERS", "ImportFileError", "Imported"]
