{# Shared SQL of the per-user and per-item intermediate models (entity = 'user' or 'item'). #}

{% macro entity_days_aggregated(entity) %}
{%- set through = processed_through() %}
{{ config(
    materialized=incremental_events(),
    incremental_strategy='append',
    on_schema_change='append_new_columns',
    pre_hook="{% if is_incremental() %}delete from {{ this }} where event_day in ({{ touched_event_days(processed_through()) }}){% endif %}",
) }}
-- per {{ entity }} and day: event counts by type and engagement shape (evening, weekend, price), over
-- the usable events (staged, of known users and items, as int_events_referenced keeps them; read from
-- staging so that the day-partitioned models depend on each other only).
-- Incremental: a run recomputes the days of the events staged since its last run (late events
-- included), as of staged_through
with events as (
    select
        e.*,
        {{ dbt.date_trunc('day', 'e.event_at') }} as event_day,
        {{ event_weight('e.event_type') }} as weight,
        {{ hour_of_day('e.event_at') }} as event_hour,
        {{ is_weekend('e.event_at') }} as is_weekend
    from {{ ref('stg_shop__events_validated') }} as e
    inner join {{ ref('stg_shop__users') }} as u on e.user_id = u.user_id
    where e.quarantine_reason is null
)

select
    e.{{ entity }}_id,
    e.event_day,
    {%- for t in var('event_weights') %}
    sum(case when e.event_type = '{{ t }}' then 1 else 0 end) as n_{{ t }},
    {%- endfor %}
    sum(case when e.weight > 0 then 1 else 0 end) as n_engaged,
    sum(case when e.weight > 0 and e.event_hour >= 18 then 1 else 0 end) as n_engaged_evening,
    sum(case when e.weight > 0 and e.is_weekend = 1 then 1 else 0 end) as n_engaged_weekend,
    {{ exact_sum('case when e.weight > 0 then i.price else 0 end') }} as engaged_price_sum,
    max(e.event_at) as last_event_at,
    max(e.staged_at) as staged_through
from events as e
inner join {{ ref('stg_shop__items') }} as i on e.item_id = i.item_id
{%- if is_incremental() %}
where e.event_day in ({{ touched_event_days(through) }})
{%- endif %}
group by e.{{ entity }}_id, e.event_day
{% endmacro %}

{% macro entity_features_snapshotted(entity) %}
-- {{ entity }} history features as of each snapshot, from events strictly before snapshot_at
with history as (
    select
        s.snapshot_at,
        d.{{ entity }}_id,
        {%- for t in var('event_weights') %}
        sum(d.n_{{ t }}) as n_{{ t }},
        {%- endfor %}
        sum(d.n_engaged) as n_engaged,
        count(*) as active_days,
        sum(d.n_engaged_evening) as n_engaged_evening,
        sum(d.n_engaged_weekend) as n_engaged_weekend,
        {{ exact_sum('d.engaged_price_sum') }} as engaged_price_sum,
        max(d.last_event_at) as last_event_at
    from {{ ref('int_snapshots_defined') }} as s
    inner join {{ ref('int_' ~ entity ~ '_days_aggregated') }} as d on d.event_day < s.snapshot_at
    group by s.snapshot_at, d.{{ entity }}_id
)

select
    h.*,
    {{ smoothed_rate('h.n_click', 'h.n_impression', 'g.prior_ctr') }} as ctr_smoothed,
    {{ smoothed_rate('h.n_purchase', 'h.n_click', 'g.prior_cvr') }} as cvr_smoothed,
    {{ dbt.datediff('h.last_event_at', 'h.snapshot_at', 'day') }} as days_since_last_event,
    cast(h.n_engaged_evening as {{ type_double() }}) / nullif(h.n_engaged, 0) as evening_share,
    cast(h.n_engaged_weekend as {{ type_double() }}) / nullif(h.n_engaged, 0) as weekend_share,
    h.engaged_price_sum / nullif(h.n_engaged, 0) as avg_engaged_price
from history as h
inner join {{ ref('int_global_rates_snapshotted') }} as g on h.snapshot_at = g.snapshot_at
{% endmacro %}

{# A user's or item's history features as of the split, from its snapshot row (zero counts and the
   prior rates when it has no history); used by the user_features and item_features marts. #}
{% macro history_features_as_of_split(snap, rates) -%}
    {%- for t in var('event_weights') %}
    coalesce({{ snap }}.n_{{ t }}, 0) as n_{{ t }},
    {%- endfor %}
    coalesce({{ snap }}.n_engaged, 0) as n_engaged,
    coalesce({{ snap }}.active_days, 0) as active_days,
    coalesce({{ snap }}.ctr_smoothed, {{ rates }}.prior_ctr) as ctr_smoothed,
    coalesce({{ snap }}.cvr_smoothed, {{ rates }}.prior_cvr) as cvr_smoothed,
    {{ snap }}.days_since_last_event,
    {{ snap }}.evening_share,
    {{ snap }}.weekend_share,
    {{ snap }}.last_event_at
{%- endmacro %}

{# The CTR examples' history features of a user or item from its snapshot row, named with a prefix
   (zero counts and the prior rates when it has no history before the snapshot). #}
{% macro snapshot_history_features(snap, rates, prefix) -%}
    {%- for t in ['impression', 'click', 'purchase', 'engaged'] %}
    coalesce({{ snap }}.n_{{ t }}, 0) as {{ prefix }}n_{{ t }},
    {%- endfor %}
    coalesce({{ snap }}.ctr_smoothed, {{ rates }}.prior_ctr) as {{ prefix }}ctr_smoothed,
    coalesce({{ snap }}.cvr_smoothed, {{ rates }}.prior_cvr) as {{ prefix }}cvr_smoothed,
    {{ snap }}.days_since_last_event as {{ prefix }}days_since_last_event,
    {{ snap }}.last_event_at as {{ prefix }}last_event_at
{%- endmacro %}
