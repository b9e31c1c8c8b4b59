"""Pure-Python ML side of the recommender platform (never imports dagster)."""
