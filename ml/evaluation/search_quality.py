"""Search quality on a labelled query set made from the catalogue itself: each query is a category or
a product noun (a title's last word, e.g. "Kettle"), and the items relevant to it are those whose title
or category holds every query word (a word, or the word with a plural s). Precision@k is the share of
what the top k shows that is relevant (an off-topic item shown after the relevant ones counts against
it), recall@k the relevant items shown over min(k, number of relevant items); both averaged over the
queries."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

WORD = re.compile(r"[a-z0-9]+")


def words(text) -> set[str]:
    """A text's words, lower case, each also without a plural s ("kettles" also gives "kettle")."""
    found = set(WORD.findall(str(text).lower().replace("_", " "))) if isinstance(text, str) else set()
    return found | {w[:-1] for w in found if len(w) > 3 and w.endswith("s")}


def relevant(items: pd.DataFrame, query: str) -> np.ndarray:
    """Catalogue rows whose title or category holds every word of ``query``."""
    wanted = words(query) - {w[:-1] for w in words(query) if w.endswith("s")} or words(query)
    texts = (items["title"].fillna("") + " " + items["category"].fillna("")).map(words)
    return np.flatnonzero([wanted <= t for t in texts])


def labelled_queries(items: pd.DataFrame, max_queries: int = 60) -> dict[str, np.ndarray]:
    """Queries (every category, the most common product nouns) with their relevant rows."""
    nouns = items["title"].dropna().str.split().str[-1].str.lower()
    nouns = nouns[nouns.str.fullmatch(r"[a-z]{4,}") & ~nouns.isin(["plus", "deluxe", "mini", "pro", "max"])]
    queries = [*sorted(items["category"].dropna().unique()), *nouns.value_counts().index[:max_queries]]
    out = {q: relevant(items, q) for q in dict.fromkeys(queries)}
    return {q: rows for q, rows in out.items() if len(rows)}


def precision_recall_at_k(found: dict[str, np.ndarray], labels: dict[str, np.ndarray], k: int = 10) -> tuple[float, float]:
    """Means over queries of precision@k (the share of what the top k shows that is relevant: an
    off-topic filler counts against it) and recall@k (relevant shown / min(k, relevant))."""
    precision, recall = [], []
    for query, rows in labels.items():
        shown, hits = found[query][:k], len(set(found[query][:k].tolist()) & set(rows.tolist()))
        precision.append(hits / len(shown) if len(shown) else 0.0)
        recall.append(hits / min(k, len(rows)))
    return float(np.mean(precision)), float(np.mean(recall))
