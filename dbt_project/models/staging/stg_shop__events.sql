select event_id, user_id, item_id, event_type, event_at
from {{ ref('stg_shop__events_validated') }}
where quarantine_reason is null
