-- per user with usable events: where the user's validation and test windows start (valid_at,
-- split_at; end_at when the user has none). Events at or after split_at are test, from valid_at
-- validation, before it train. The strategies are described in macros/splits.sql.
{%- set strategy = split_strategy() %}
{%- set k = var('holdout_k') %}
with events as (
    select user_id, item_id, event_type, event_at
    from {{ ref('int_events_referenced') }}
    where quarantine_reason is null
),

bounds as (
    {{ event_time_bounds(ref('int_events_referenced')) }}
),

{% if strategy == 'leave_last_k' -%}
user_items as (
    select user_id, item_id, min(event_at) as first_at
    from events
    where {{ event_weight('event_type') }} > 0
    group by user_id, item_id
),

ranked as (
    select
        user_id, first_at,
        row_number() over (partition by user_id order by first_at desc, item_id desc) as recency,
        count(*) over (partition by user_id) as n_items
    from user_items
),

held_out as (
    select
        user_id,
        min(case when recency <= {{ k }} and n_items > {{ k }} then first_at end) as split_at,
        min(case when recency <= {{ 2 * k }} and n_items > {{ 2 * k }} then first_at end) as valid_at
    from ranked
    group by user_id
),

users as (
    select distinct user_id from events
)

select
    u.user_id,
    coalesce(h.valid_at, h.split_at, b.end_at) as valid_at,
    coalesce(h.split_at, b.end_at) as split_at
from users as u
cross join bounds as b
left join held_out as h on u.user_id = h.user_id
{%- else -%}
boundaries as (
    {% if strategy == 'last_days' -%}
    select
        {% if var('split_at') -%}
        cast('{{ var("split_at") }}' as {{ dbt.type_timestamp() }})
        {%- else -%}
        {{ dbt.dateadd('day', -1 * var('test_days'), 'end_at') }}
        {%- endif %} as split_at
    from bounds
    {%- else -%}
    select {{ time_quantile('event_at', (1 - var('test_fraction')) | round(6)) }} as split_at
    from events
    {%- endif %}
),

validation_start as (
    {% if strategy == 'last_days' -%}
    select {{ dbt.dateadd('day', -1 * var('validation_days'), 'split_at') }} as valid_at
    from boundaries
    {%- else -%}
    select {{ time_quantile('event_at', (1 - var('test_fraction') - var('validation_fraction')) | round(6)) }} as valid_at
    from events
    {%- endif %}
)

select distinct e.user_id, v.valid_at, s.split_at
from events as e
cross join boundaries as s
cross join validation_start as v
{%- endif %}
