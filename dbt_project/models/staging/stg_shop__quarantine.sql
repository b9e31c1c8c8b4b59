-- every raw row that staging could not use, with the reason; raw values kept as text
select 'events' as source_table, raw_event_id as record_id, quarantine_reason,
       raw_user_id as user_id, raw_item_id as item_id, raw_event_type as event_type, raw_event_at as event_at
from {{ ref('stg_shop__events_validated') }}
where quarantine_reason is not null
union all
select 'users', raw_user_id, quarantine_reason, raw_user_id, null, null, raw_signup_at
from {{ ref('stg_shop__users_validated') }}
where quarantine_reason is not null
union all
select 'items', raw_item_id, quarantine_reason, null, raw_item_id, null, raw_released_at
from {{ ref('stg_shop__items_validated') }}
where quarantine_reason is not null
