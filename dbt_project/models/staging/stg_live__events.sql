-- the events the service took (POST /events), typed; the service checked them at the door (ids,
-- event type, time window), so nothing here is quarantined: a row that does not type is a defect
select
    {{ integer_id('seq') }} as live_seq,
    {{ integer_id('user_id') }} as user_id,
    {{ integer_id('item_id') }} as item_id,
    event_type,
    {{ utc_timestamp('event_at') }} as event_at,
    {{ utc_timestamp('received_at') }} as received_at,
    request_id
from {{ live_rows('events') }} as raw
