"""The API's request and response bodies and its input rules: ids are JSON integers (no strings or
booleans; one beyond int64 is an unknown id), ``k``/``top_n`` 1..100, batches 1..1000 users, unknown body
fields refused. What the OpenAPI document declares is what is enforced."""

from __future__ import annotations

import json
import math
import os
from typing import Annotated

import orjson
from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

MAX_BATCH = 1000
MAX_K = 100
DEFAULT_MODEL = os.environ.get("RECSYS_DEFAULT_MODEL", "als")
MAX_BODY_BYTES = int(os.environ.get("RECSYS_MAX_BODY_BYTES", str(2**20)))


def json_integer(value):
    """A JSON integer and nothing else: no string ("7") or boolean (true). An integral number such as
    1.0 is the same JSON Schema integer as 1 and is accepted; 1.5 is not."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be a JSON integer")
    return value


# any JSON integer is an id: one outside the warehouse's int64 range is simply unknown (the fallback
# serves it). Constraints come before the validator, so that the schema shows them as minimum/maximum
Id = Annotated[int, BeforeValidator(json_integer)]
TopN = Annotated[int, Field(ge=1, le=MAX_K), BeforeValidator(json_integer)]


class ErrorMessage(BaseModel):
    detail: str = Field(..., description="what went wrong and what to do")


def declared(*codes: int) -> dict:
    """OpenAPI ``responses`` for the error codes a route returns besides 200 and 422."""
    return {code: {"model": ErrorMessage} for code in codes}


class ScoredItem(BaseModel):
    item_id: int
    score: float


class UserRecommendations(BaseModel):
    user_id: int
    items: list[ScoredItem]
    fallback: str | None = Field(None, description="set when the fallback served this user: '<model>:<reason>'")
    fresh_events: int = Field(0, description="events received since the model's data (POST /events) that shaped this list")


class UserRecommendationsResponse(UserRecommendations):
    model: str
    model_version: str = Field(..., description="the served artifact version that answered")
    experiment: str | None = Field(None, description="the experiment that chose the model (no model was asked for)")
    arm: str | None = Field(None, description="the user's arm in that experiment")


class RecommendationsRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt field (topn) is an error, not silently ignored

    user_ids: list[Id] = Field(..., min_length=1, max_length=MAX_BATCH, description=f"1 to {MAX_BATCH} user ids")
    top_n: TopN = Field(10, description="items per user")
    model: str = Field(DEFAULT_MODEL, max_length=64, description="model name, see GET /models")


class RecommendationsResponse(BaseModel):
    model: str
    model_version: str
    results: list[UserRecommendations]


class SimilarItem(BaseModel):
    item_id: int
    score: float
    title: str | None = None
    category: str | None = None
    brand: str | None = None
    price: float | None = None


class SimilarItemsResponse(BaseModel):
    model: str
    model_version: str
    item_id: int
    items: list[SimilarItem]


class FoundItem(BaseModel):
    item_id: int
    title: str | None = None
    category: str | None = None
    brand: str | None = None
    price: float | None = None
    relevance: float = Field(..., description="lexical relevance to the query, 0 to 1")
    score: float = Field(..., description="what ranked the item: the relevance, or its blend with the user's model score")


class SearchResponse(BaseModel):
    query: str
    personalised_with: str | None = Field(None, description="the model whose scores for user_id reordered the results")
    catalogue_version: str = Field(..., description="the served artifact whose item attributes were searched")
    items: list[FoundItem]


class ModelInfo(BaseModel):
    name: str
    version: str
    similar_items: bool
    retrieval: str = Field(..., description="how top-k is found: exact, or ann (an HNSW index, RECSYS_ANN_MIN_ITEMS)")
    features: dict[str, list[str]] = Field(
        default_factory=dict, description="the declared mart features the model was trained with, by mart"
    )
    metrics: dict = Field(default_factory=dict, description="latest leaderboard row of the model")
    metrics_of_served_version: bool | None = Field(
        None, description="whether the metrics were measured on the served version (false: on metrics.model_version)"
    )


class ModelStatus(BaseModel):
    name: str
    version: str = Field(..., description="the served artifact version")
    trained_at: str | None = Field(None, description="when the version was trained (UTC, ISO 8601)")
    warehouse: str | None = Field(None, description="the warehouse its training data came from")
    data_window: dict | None = Field(None, description="the split it was trained and tested on")
    data_until: str | None = Field(None, description="the last event of the data it was trained on (UTC)")
    data_age_days: float | None = Field(None, description="days since that event")
    newer_version_waiting: str | None = Field(None, description="a newer published version not loaded yet")
    problem: str | None = Field(None, description="why the latest published version is not served (refused on load)")


class ExperimentStatus(BaseModel):
    name: str
    arms: list[dict] = Field(..., description="name, model and share of each arm (a user's arm: a hash of the user id)")


class Status(BaseModel):
    loaded_at: str = Field(..., description="when the served snapshot was loaded (UTC)")
    reload_interval_s: float = Field(..., description="how often the watcher looks for new versions")
    models: list[ModelStatus]
    experiments: list[ExperimentStatus] = Field(default_factory=list, description="experiments splitting the traffic")
    retraining: dict[str, dict] = Field(
        default_factory=dict, description="each model's latest retrain (POST /training): its Dagster run_id and status"
    )
    retraining_unavailable: str | None = Field(None, description="why the Dagster instance could not be asked")


class Health(BaseModel):
    status: str = Field(..., description="ok, degraded (a published version is refused) or no models loaded")
    models: dict[str, str]
    loaded_at: str
    problems: dict[str, str] = Field(default_factory=dict, description="model -> its refused version, why, what is served")


def json_response(payload: dict) -> Response:
    try:
        content = orjson.dumps(payload)
    except TypeError:  # orjson stops at 64-bit integers; an unknown id beyond them is echoed as given
        content = json.dumps(payload).encode()
    return Response(content=content, media_type="application/json")


def item_fields(row) -> dict:
    """An item's attributes as every answer that lists items gives them (a missing price is null)."""
    price = row.price
    return {
        "item_id": int(row.item_id),
        "title": getattr(row, "title", None),
        "category": row.category,
        "brand": row.brand,
        "price": None if price is None or not math.isfinite(price) else float(price),
    }


def single_query_values(request: Request) -> None:
    """A declared query parameter given more than once is refused (422), not reduced to one of its values."""
    declared = getattr(getattr(request.scope.get("route"), "dependant", None), "query_params", [])
    repeated = {p.alias: n for p in declared if (n := len(request.query_params.getlist(p.alias))) > 1}
    if repeated:
        raise RequestValidationError(
            [{"loc": ("query", k), "msg": f"given {n} times: give it once", "type": "repeated"} for k, n in repeated.items()]
        )
