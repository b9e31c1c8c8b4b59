"""Catalogue search (ml.search and GET /search): hand-made relevance cases."""

import numpy as np
import pandas as pd
import pytest

from ml.serving.search import CatalogueSearch

CATALOGUE = pd.DataFrame(
    [
        (1, "Wireless Noise-Cancelling Headphones", "electronics", "acme"),
        (2, "Wired Headphones", "electronics", None),
        (3, "Wireless Mouse", "electronics", None),
        (4, "The Silent Harbor", "books", None),
        (5, "Harbor Lights", "garden", None),
        (6, "Jazz Piano", "music", None),
        (7, None, "books", None),
    ],
    columns=["item_id", "title", "category", "brand"],
)


@pytest.fixture(scope="module")
def search() -> CatalogueSearch:
    return CatalogueSearch(CATALOGUE)


def found(search: CatalogueSearch, query: str, k: int = 10, **kw) -> list[int]:
    return CATALOGUE.item_id.to_numpy()[search.search(query, k, **kw).positions].tolist()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("headphone", {1, 2}),  # a singular finds the plural, and nothing else
        ("hedphones", {1, 2}),  # a typo still matches
        ("books", {4, 7}),  # the category, also for an item without a title
        ("acme", {1}),  # the brand
        ("jaz", {6}),  # a prefix
        ("harbor", {4, 5}),
        ("zzzz", set()),  # one shared 3-gram ("zz" of Jazz) is not a match
        ("   ", set()),
    ],
)
def test_relevance_on_hand_made_cases(search, query, expected):
    assert set(found(search, query)) == expected


def test_two_words_rank_the_item_with_both_above_items_with_one(search):
    result = search.search("wireless headphones", 10)
    order = CATALOGUE.item_id.to_numpy()[result.positions].tolist()
    assert order[0] == 1 and set(order[1:]) <= {2, 3}
    assert np.all(np.diff(result.scores) <= 0) and 0 < result.relevance.max() <= 1


def test_a_users_scores_reorder_relevant_items_but_never_add_irrelevant_ones(search):
    assert found(search, "harbor") == [5, 4]  # the shorter text is closer to the one-word query
    likes_books = np.array([0.0, 0, 0, 0.9, 0.1, 5.0, 0])  # item 6 (Jazz Piano) scored highest, but irrelevant
    assert found(search, "harbor", user_scores=likes_books, weight=0.5) == [4, 5]
    assert found(search, "harbor", user_scores=likes_books, weight=0.0) == [5, 4]
    unknown = np.full(7, np.nan)  # a model without scores for these items changes nothing
    assert found(search, "harbor", user_scores=unknown, weight=0.5) == [5, 4]


def test_labelled_queries_on_the_sample_catalogue_show_no_off_topic_item(sample_warehouse):
    """Precision@10 on the queries made from the sample catalogue (python -m bench.search prints it):
    plain and personalised with ALS, every item shown holds the query's words, and none is missed."""
    from threadpoolctl import threadpool_limits

    from ml.evaluation.search_quality import labelled_queries, precision_recall_at_k, words
    from ml.recommenders import ALSRecommender
    from ml.warehouse.connection import query_df
    from ml.warehouse.marts import load_interactions

    items = query_df("select item_id, title, category, brand from marts.item_features order by item_id", sample_warehouse)
    labels, search = labelled_queries(items), CatalogueSearch(items)
    assert len(labels) > 50 and {"headphones", "bottle"} <= set(labels)
    data = load_interactions(sample_warehouse)
    with threadpool_limits(1, "blas"):
        scores = ALSRecommender(iterations=5).fit(data.train).score_users(np.array([41]))[0]  # user 42's row
    for personal in (None, scores):
        found = {q: search.search(q, 10, personal).positions for q in labels}
        assert precision_recall_at_k(found, labels) >= (0.99, 0.99)
    kettles = items["title"].iloc[search.search("kettle", 10, scores).positions]
    assert len(kettles) and all("kettle" in words(t) for t in kettles)  # no "The Little ...", no bottles
