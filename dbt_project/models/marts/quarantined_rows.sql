-- every raw row that could not be used, with the reason and its values as text: staging's rules about
-- the row itself, then intermediate's references to unknown users and items
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
union all
select 'events', cast(event_id as {{ dbt.type_string() }}), quarantine_reason, cast(user_id as {{ dbt.type_string() }}),
       cast(item_id as {{ dbt.type_string() }}), event_type, cast(event_at as {{ dbt.type_string() }})
from {{ ref('int_events_referenced') }}
where quarantine_reason is not null
