"""``POST /events`` and ``POST /events/batch``: a user's new events, written to the live log
(``ml.live.log``) before the answer, so that the user's next request reflects them (``service.fresh``)
in every worker, and the Dagster step ``raw/live_log`` loads them into the warehouse.

The rules are the raw contract's, as staging applies them, but at the door: ids are JSON integers in
the warehouse's BIGINT range, the event type is one of the dbt var ``event_weights`` exactly as
written there, the time is an ISO 8601 timestamp (UTC unless it carries an offset) between the dbt
var ``event_time_min`` and a day from now. A batch is accepted whole or refused whole (422, each
offending event named by its position); nothing is coerced.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from ml import columns as C
from ml.live.log import INT64, LiveEvent, LiveLog, now
from service.metrics import EVENTS
from service.observe import current_request_id
from service.schemas import declared, json_integer

MAX_EVENTS = 5000


def timestamp_text(value):
    if not isinstance(value, str):
        raise ValueError("must be an ISO 8601 timestamp string, e.g. 2026-01-31T12:00:00Z")
    return value


def in_range(value: datetime) -> datetime:
    when = value if value.tzinfo else value.replace(tzinfo=UTC)
    earliest = datetime.fromisoformat(str(C.dbt_vars()["event_time_min"])).replace(tzinfo=UTC)
    if when < earliest or when > now() + timedelta(days=1):
        raise ValueError(f"must lie between {earliest:%Y-%m-%d} (the dbt var event_time_min) and a day from now")
    return when


EventType = Literal[C.event_types()]  # type: ignore[valid-type]  # the declared types, an enum in the schema
EventId = Annotated[int, Field(ge=INT64[0], le=INT64[1]), BeforeValidator(json_integer)]  # the warehouse's BIGINT
When = Annotated[
    datetime | None,
    BeforeValidator(lambda v: v if v is None else timestamp_text(v)),
    AfterValidator(lambda v: v if v is None else in_range(v)),
]


class EventIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user_id: EventId
    item_id: EventId
    event_type: EventType = Field(..., description="one of the dbt var event_weights, as written there")  # type: ignore[valid-type]
    event_at: When = Field(None, description="ISO 8601, UTC unless an offset is given; default: when it is received")


class EventBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    events: list[EventIn] = Field(..., min_length=1, max_length=MAX_EVENTS, description=f"1 to {MAX_EVENTS} events")


class EventsAccepted(BaseModel):
    accepted: int = Field(..., description="events written to the live log (durable before this answer)")


def events_router(log: LiveLog) -> APIRouter:
    router = APIRouter()

    def accept(events: list[EventIn]) -> EventsAccepted:
        received = now()
        log.append_events(
            [LiveEvent(e.user_id, e.item_id, e.event_type, e.event_at or received) for e in events], current_request_id()
        )
        for e in events:
            EVENTS.labels(e.event_type).inc()
        return EventsAccepted(accepted=len(events))

    @router.post("/events", response_model=EventsAccepted, responses=declared(400, 413))
    def post_event(event: EventIn) -> EventsAccepted:
        """One event of a user; their next recommendation reflects it (seen items excluded, history folded in)."""
        return accept([event])

    @router.post("/events/batch", response_model=EventsAccepted, responses=declared(400, 413))
    def post_events(batch: EventBatch) -> EventsAccepted:
        """Several events at once, accepted whole or refused whole."""
        return accept(batch.events)

    return router
