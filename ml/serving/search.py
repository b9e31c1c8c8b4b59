"""Catalogue search: lexical relevance of items to a query over their title, category and brand,
optionally blended with one user's model scores.

Relevance is the cosine between TF-IDF vectors (scikit-learn) of the query and of each item's text,
on two views: whole words (the exact terms a user types) and character 3-grams inside words (plurals,
prefixes and typos: "headphone" and "hedphones" still find "Headphones"). Words weigh 0.7, 3-grams
0.3. An item is a match only if, for every query word, one of its words holds at least 60% of that
word's 3-grams that do not end it, or, when no catalogue word does, is one edit away from it (two
for words of 8 letters or more) (so "zzzz" does not find "Jazz" through their shared "zz", nor
"kettle" "Little" through "ttl", "tle" and "le ", nor "beans" "Jeans", while "pino" finds "Piano").
Measured on a labelled query set: ``python -m bench.search``.

Personalised search ranks the most relevant candidates (5 x k, at least 50) by
``(1 - w) * relevance / max relevance + w * (user score, min-max scaled over the candidates)``, so
a user's preference reorders relevant items but never brings in an irrelevant one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from rapidfuzz import process
from rapidfuzz.distance import Levenshtein
from sklearn.feature_extraction.text import TfidfVectorizer

TEXT_COLUMNS = ("title", "category", "brand")  # optional ones may be missing or null
WORD_WEIGHT = 0.7
MIN_COVERAGE = 0.6  # share of the query's inner 3-grams an item must hold to match
MIN_CANDIDATES = 50


def typo_allowance(word: str) -> int:
    """Edits a query word may be away from a catalogue word and still match it (as search engines'
    "fuzziness AUTO"): none up to 3 letters, one up to 7, two from 8."""
    return 0 if len(word) <= 3 else 1 if len(word) <= 7 else 2


def item_text(items: pd.DataFrame) -> pd.Series:
    """Each item's searchable text: its title, category and brand, where present."""
    parts = [
        items[c].astype(object).where(items[c].notna(), "").astype(str) if c in items else pd.Series("", index=items.index)
        for c in TEXT_COLUMNS
    ]
    text = parts[0]
    for part in parts[1:]:
        text = text + " " + part
    return text.str.replace("_", " ", regex=False).str.strip()


@dataclass(frozen=True)
class SearchResult:
    positions: np.ndarray  # rows of the catalogue, best first
    relevance: np.ndarray  # lexical relevance in [0, 1]
    scores: np.ndarray  # what ranked them: the relevance, or the personalised blend


class CatalogueSearch:
    def __init__(self, items: pd.DataFrame) -> None:
        text = item_text(items)
        self.words = TfidfVectorizer(sublinear_tf=True, token_pattern=r"(?u)\b\w+\b")
        self.chars = TfidfVectorizer(sublinear_tf=True, analyzer="char_wb", ngram_range=(3, 3))
        nonempty = text.where(text != "", "-")  # a vectorizer refuses a corpus without a single term
        self.word_matrix = self.words.fit_transform(nonempty)
        self.char_matrix = self.chars.fit_transform(nonempty)
        self.vocabulary = vocabulary = self.words.get_feature_names_out()
        self.word_present = (self.word_matrix > 0).astype(np.float32).tocsc()  # items x catalogue words
        self.word_grams = (self.chars.transform(vocabulary) > 0).astype(np.float32).tocsc()  # words x 3-grams
        self.word_analyzer, self.gram_analyzer = self.words.build_analyzer(), self.chars.build_analyzer()
        self.n_items = len(items)

    def relevance(self, query: str) -> np.ndarray:
        """Lexical relevance of every item to ``query``, in [0, 1] (rows are L2-normalised, so the
        products are cosines); 0 for items that do not match."""
        query = query.replace("_", " ")
        words = (self.word_matrix @ self.words.transform([query]).T).toarray().ravel()
        chars = (self.char_matrix @ self.chars.transform([query]).T).toarray().ravel()
        return np.where(self.matches(query), WORD_WEIGHT * words + (1 - WORD_WEIGHT) * chars, 0.0)

    def matches(self, query: str) -> np.ndarray:
        """Items holding, for every word of the query, one word that matches it: a word holding at
        least MIN_COVERAGE of the query word's 3-grams that do not end it (the same word, a longer form
        or a plural, a prefix), or, when no catalogue word does, one within :func:`typo_allowance` edits
        of it (a typo). Words are compared
        one to one, so "beans" does not match an item through the "be" of its category and the "ans" of
        its title."""
        matched = np.ones(self.n_items, dtype=bool)
        for word in set(self.word_analyzer(query)):
            grams = {g for g in self.gram_analyzer(word) if not g.endswith(" ")}
            columns = [self.chars.vocabulary_[g] for g in grams if g in self.chars.vocabulary_]
            coverage = np.asarray(self.word_grams[:, columns].sum(axis=1)).ravel() / max(len(grams), 1)
            similar = np.flatnonzero(coverage >= MIN_COVERAGE)  # catalogue words that match this one
            if len(similar) == 0:  # none: a typo, then (so "beans" never finds "jeans", but "beaty" "beauty")
                typos = process.cdist([word], self.vocabulary, scorer=Levenshtein.distance, dtype=np.int32, workers=1)[0]
                similar = np.flatnonzero(typos <= typo_allowance(word))
            matched &= np.asarray(self.word_present[:, similar].sum(axis=1)).ravel() > 0
        return matched

    def search(self, query: str, k: int, user_scores: np.ndarray | None = None, weight: float = 0.3) -> SearchResult:
        """The top-k items for ``query``; with ``user_scores`` (one score per catalogue row, NaN where the
        model has none), personalised by the blend in the module's docstring. A blank query finds nothing."""
        relevance = self.relevance(query) if query.strip() else np.zeros(self.n_items)
        matched = np.flatnonzero(relevance > 0)
        # most relevant first; ties by catalogue order (stable)
        order = matched[np.argsort(-relevance[matched], kind="stable")]
        if user_scores is None or weight == 0 or len(order) == 0:
            top = order[:k]
            return SearchResult(top, relevance[top], relevance[top])
        candidates = order[: max(5 * k, MIN_CANDIDATES)]
        personal = np.asarray(user_scores, dtype=np.float64)[candidates]
        known = np.isfinite(personal)
        low, high = (personal[known].min(), personal[known].max()) if known.any() else (0.0, 0.0)
        scaled = np.where(known, (personal - low) / (high - low) if high > low else 0.5, 0.0)
        blend = (1 - weight) * relevance[candidates] / relevance[candidates].max() + weight * scaled
        best = np.argsort(-blend, kind="stable")[:k]
        return SearchResult(candidates[best], relevance[candidates[best]], blend[best])
