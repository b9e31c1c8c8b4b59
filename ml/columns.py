"""Column and relation names shared by the dbt marts, the ML code and the service (one naming scheme)."""

USER_ID = "user_id"
ITEM_ID = "item_id"
USER_IDX = "user_idx"
ITEM_IDX = "item_idx"
EVENT_ID = "event_id"
EVENT_TYPE = "event_type"
EVENT_AT = "event_at"
WEIGHT = "weight"
SPLIT = "split"
LABEL_CLICKED = "clicked"

EVENT_TYPES = ("impression", "view", "click", "add_to_cart", "purchase")
TRAIN, TEST = "train", "test"

# warehouse relations (schema "main" holds the dbt marts)
INTERACTIONS = "interactions"
USER_FEATURES = "user_features"
ITEM_FEATURES = "item_features"
CTR_EXAMPLES = "ctr_examples"
EVALUATION_SCHEMA = "evaluation"
