-- every raw row that could not be used: the rule it broke, the column at fault and that column's value
-- as given (staging's rules about the row itself, then intermediate's references to unknown users and
-- items), with the row's ids as text
select 'events' as source_table, raw_event_id as record_id, quarantine_reason,
       quarantine_column as column_name, quarantine_value as raw_value, raw_user_id as user_id, raw_item_id as item_id
from {{ ref('stg_shop__events_validated') }}
where quarantine_reason is not null
union all
select 'users', raw_user_id, quarantine_reason, quarantine_column, quarantine_value, raw_user_id, null
from {{ ref('stg_shop__users_validated') }}
where quarantine_reason is not null
union all
select 'items', raw_item_id, quarantine_reason, quarantine_column, quarantine_value, null, raw_item_id
from {{ ref('stg_shop__items_validated') }}
where quarantine_reason is not null
union all
select 'events', {{ raw_text('event_id') }}, quarantine_reason,
       case quarantine_reason when 'unknown_user' then 'user_id' else 'item_id' end,
       {{ raw_text("case quarantine_reason when 'unknown_user' then user_id else item_id end") }},
       {{ raw_text('user_id') }}, {{ raw_text('item_id') }}
from {{ ref('int_events_referenced') }}
where quarantine_reason is not null
