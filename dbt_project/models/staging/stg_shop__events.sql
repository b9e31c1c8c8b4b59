-- a view: a filter over the validated events, nothing to store twice
{{ config(materialized='view') }}
select event_id, user_id, item_id, event_type, event_at, arrival_day, staged_at
from {{ ref('stg_shop__events_validated') }}
where quarantine_reason is null
