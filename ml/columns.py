"""Column and relation names shared by the dbt marts, the ML code and the service (one naming scheme),
and the event types with their weights, read from the dbt project's vars (their one definition)."""

from __future__ import annotations

from functools import cache

import yaml

from ml import settings

USER_ID = "user_id"
ITEM_ID = "item_id"
USER_IDX = "user_idx"
ITEM_IDX = "item_idx"
EVENT_ID = "event_id"
EVENT_TYPE = "event_type"
EVENT_AT = "event_at"
WEIGHT = "weight"
SPLIT = "split"
TRAIN, VALIDATION, TEST = "train", "validation", "test"

# mart relations (schema "marts") and the schemas Python writes
INTERACTIONS = "interactions"
INTERACTIONS_DAILY = "interactions_daily"
USER_SEQUENCES = "user_sequences"
POSITION = "position"
USER_FEATURES = "user_features"
ITEM_FEATURES = "item_features"
CTR_EXAMPLES = "ctr_examples"
EVALUATION_SCHEMA = "evaluation"
ANALYSIS_SCHEMA = "analysis"


@cache
def dbt_vars() -> dict:
    """The ``vars`` of ``dbt_project/dbt_project.yml`` (their defaults; ``--vars`` may override them)."""
    return yaml.safe_load((settings.DBT_PROJECT_DIR / "dbt_project.yml").read_text())["vars"]


def event_weights() -> dict[str, float]:
    """Implicit-feedback weight per event type (dbt var ``event_weights``), in funnel order."""
    return dict(dbt_vars()["event_weights"])


def event_types() -> tuple[str, ...]:
    return tuple(event_weights())
