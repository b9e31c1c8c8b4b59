-- per user and item, the user's usable events with it (every type, impressions included): what the
-- web app shows as a user's history. A view: it is read one user at a time, and stores nothing twice.
{{ config(materialized='view') }}
{{ contract_typed_start() }}
with per_type as (
    select user_id, item_id, event_type, count(*) as n_events, min(event_at) as first_at, max(event_at) as last_at
    from {{ ref('int_events_referenced') }}
    where quarantine_reason is null
    group by user_id, item_id, event_type
)

select
    t.user_id,
    t.item_id,
    i.title,
    i.category,
    i.price,
    {{ dbt.listagg('t.event_type', "', '", "order by t.event_type") }} as event_types,
    sum(t.n_events) as n_events,
    min(t.first_at) as first_at,
    max(t.last_at) as last_at
from per_type as t
left join {{ ref('item_features') }} as i on t.item_id = i.item_id
group by t.user_id, t.item_id, i.title, i.category, i.price
{{ contract_typed_end() }}
