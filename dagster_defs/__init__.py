"""The Dagster code location of the recommender platform (``dagster dev`` finds it via pyproject)."""
