"""Amazon reviews (2018 or 2023 layout) with product metadata: JSON lines, checked field by field."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ml import columns as C
from ml.ingest.importers.common import Imported, events_frame, items_frame, rating_event_types, rating_rule
from ml.ingest.importers.fields import RowChecks, first_line_ids, text_table
from ml.ingest.importers.reading import ImportFileError, Ledger, read_jsonl

STARS = np.arange(1.0, 6.0)
LAYOUT_2018 = {"user": "reviewerID", "product": "asin", "rating": "overall", "time": "unixReviewTime"}
LAYOUT_2023 = {"user": "user_id", "product": "parent_asin", "rating": "rating", "time": "timestamp"}


def _price(value) -> float:
    """A price as published (a number or text like '$12.99'); anything else is no price (optional)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        return float(pd.to_numeric(value.replace("$", "").replace(",", "").strip(), errors="coerce"))
    return float("nan")


def _first(values) -> object:
    if isinstance(values, list | np.ndarray) and len(values):
        inner = values[0]
        return _first(inner) if isinstance(inner, list) else inner
    return values if isinstance(values, str) and values else None


def _reviews(src: Path, ledger: Ledger, rule: dict[float, str]) -> tuple[pd.DataFrame, pd.Series]:
    """Checked review rows -> (events with text user and product ids, the rating event types)."""
    records, lines = read_jsonl(src, ledger)
    layout = LAYOUT_2018 if any("reviewerID" in r for r in records[:1000]) else LAYOUT_2023
    if layout is LAYOUT_2023 and not any("parent_asin" in r for r in records[:1000]):
        layout = {**layout, "product": "asin"}
    checks = RowChecks(text_table(records, lines, layout), src.name, ledger)
    user, product = checks.text("user"), checks.text("product")
    rating = checks.number("rating", STARS, "1-5 (whole stars)")
    unit = "s" if layout is LAYOUT_2018 else "ms"
    at = checks.unix_time("time", unit, f"Amazon {'2018' if unit == 's' else '2023'} review times")
    keep = checks.kept()
    rows = pd.DataFrame({"user": user[keep], "product": product[keep], "event_at": at[keep]})
    rows["event_id"] = first_line_ids(checks.lines[keep], user[keep], product[keep], rating[keep], at[keep])
    return rows, rating_event_types(pd.Series(rating[keep]), rule)


def amazon_reviews(
    src: Path, rating_events: dict[float, str] | None = None, meta: Path | None = None, encoding: str = "auto"
) -> Imported:
    """Amazon reviews JSONL (2018 or 2023 layout) and its product metadata JSONL (``meta``; else the
    ``meta_*.jsonl[.gz]`` next to the reviews file). Reviews and metadata are UTF-8 JSON."""
    src = Path(src)
    if not src.is_file():
        raise FileNotFoundError(f"{src}: give the reviews .jsonl (or .json / .jsonl.gz) file")
    if encoding not in ("auto", "utf-8"):
        raise ImportFileError(f"--encoding {encoding}: JSON lines are UTF-8 by definition")
    if meta is None:
        found = sorted(p for p in src.parent.glob("meta*") if p.is_file())
        meta = found[0] if found else None
    ledger = Ledger()
    reviews, event_type = _reviews(src, ledger, rating_rule(rating_events))
    records = read_jsonl(meta, ledger)[0] if meta is not None else []
    if meta is not None:
        ledger.kept[meta.name] = len(records)
    products = pd.DataFrame(records) if records else pd.DataFrame(columns=["asin"])
    key = "parent_asin" if "parent_asin" in products else "asin"
    products = products.drop_duplicates(key).set_index(key)
    users = pd.Index(np.sort(reviews["user"].unique()))
    item_ext = pd.Index(np.sort(np.union1d(reviews["product"].unique(), products.index.astype(str))))
    reviews["user_id"] = users.get_indexer(reviews["user"]) + 1
    reviews["item_id"] = item_ext.get_indexer(reviews["product"]) + 1
    events = events_frame(reviews, event_type)
    products = products.reindex(item_ext)
    absent = pd.Series(None, index=item_ext, dtype=object)
    cats = products["categories"] if "categories" in products else products.get("category", absent)
    mains = products.get("main_category", absent)
    category = [_first(c) or (m if isinstance(m, str) and m else "unknown") for c, m in zip(cats, mains, strict=True)]
    brand = products["brand"] if "brand" in products else products.get("store", absent)
    item_ids = np.arange(1, len(item_ext) + 1)
    items = items_frame(
        item_ids,
        category,
        pd.Series(item_ids).map(events.groupby(C.ITEM_ID)[C.EVENT_AT].min()),
        title=products.get("title", absent).to_numpy(),
        brand=[b if isinstance(b, str) and b else None for b in brand],
        price=[_price(p) for p in products.get("price", absent)],
    )
    items["external_id"] = item_ext.to_numpy()
    user_frame = pd.DataFrame(
        {C.USER_ID: np.arange(1, len(users) + 1), "signup_at": pd.NaT, "country": pd.NA, "segment": pd.NA, "age_band": pd.NA}
    )
    user_frame["external_id"] = users.to_numpy()
    return Imported({"users": user_frame, "items": items, "events": events}, ledger)
