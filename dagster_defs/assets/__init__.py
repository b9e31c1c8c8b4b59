"""The asset graph, one module per pipeline stage: features (dbt), training, ranking, evaluation,
leaderboard (dbt) and analysis."""
