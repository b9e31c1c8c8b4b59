-- each user's engaged events in time order, as steps: a step is an event on another item than the
-- step before (a view -> click -> purchase of one item is one step, at its first event; coming back
-- to an item later is a new step). position counts from 1 per user over all windows.
with engaged as (
    select
        user_id,
        item_id,
        event_id,
        event_at,
        split,
        lag(item_id) over (partition by user_id order by event_at, event_id) as previous_item_id
    from {{ ref('int_events_weighted') }}
    where weight > 0
),

steps as (
    select * from engaged
    where previous_item_id is null or previous_item_id <> item_id
)

select
    user_id,
    item_id,
    split,
    event_at,
    row_number() over (partition by user_id order by event_at, event_id) as position
from steps
