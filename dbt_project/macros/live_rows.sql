{# The rows of a live-log source table, or none (typed text columns) before the log was ever loaded:
   a plain `dbt build` builds the experiment marts empty instead of failing on a missing table #}
{% macro live_rows(table) -%}
    {%- set relation = source('live', table) -%}
    {%- set mocked = '__dbt__cte__' in (relation | string) -%}  {#- a unit test's given rows #}
    {%- if execute and not mocked and load_relation(relation) is none -%}
    {%- set columns = graph.sources['source.recsys.live.' ~ table].columns.keys() | list -%}
    (select {% for c in columns %}cast(null as {{ dbt.type_string() }}) as {{ c }}{% if not loop.last %}, {% endif %}{% endfor %} where 1 = 0)
    {%- else -%}
    {{ relation }}
    {%- endif -%}
{%- endmacro %}

{# The live log's rows as raw events, for the union in stg_shop__events_validated: the events the service
   took, and every exposure as an impression (at the time it was served), so that what the platform
   served and what users did next train the next models like any other event. Ids of their own: the
   live log's position plus 8e18 (events) or 9e18 (exposures), far above any source system's ids (a
   clash would be quarantined as duplicate_event_id, never merged). No arrival day: the live rows are
   re-staged whole on every run, as a source without arrival days is. Columns as the raw CTE's. #}
{% macro live_events_as_raw() -%}
    {%- for table, offset, event_type, at in [
        ('events', '8000000000000000000', 'event_type', 'event_at'),
        ('exposures', '9000000000000000000', "'impression'", 'served_at'),
    ] %}
    union all
    select
        cast({{ integer_id('seq') }} as {{ dbt.type_bigint() }}) as source_row,
        cast(null as date) as arrival_day,
        'live_log.{{ table }}' as source_file,
        cast(cast({{ offset }} as {{ dbt.type_bigint() }}) + {{ integer_id('seq') }} as {{ dbt.type_string() }}) as raw_event_id,
        {{ raw_text('user_id') }} as raw_user_id,
        {{ raw_text('item_id') }} as raw_item_id,
        {{ raw_text(event_type) }} as raw_event_type,
        {{ raw_text(at) }} as raw_event_at
    from {{ live_rows(table) }} as live
    {%- endfor %}
{%- endmacro %}

{# rows of the live log read as raw events (stg_shop__events_validated's union) #}
{% macro live_raw_rows() -%}
    ((select count(*) from {{ live_rows('events') }} as e) + (select count(*) from {{ live_rows('exposures') }} as x))
{%- endmacro %}
