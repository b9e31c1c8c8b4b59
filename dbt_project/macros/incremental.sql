{# Incremental processing of events by arrival day.

   Raw events read from a directory events/day=YYYY-MM-DD/*.parquet carry the day each file landed
   (_arrival_day; a late event lands on a later day than it happened). The incremental models
   (stg_shop__events_validated, then the daily aggregates) re-process only a window of arrival days:
   - vars arrival_from / arrival_to (dates, to exclusive): the days of a Dagster partition or backfill;
   - otherwise the days from the last one already staged, minus lookback_days (late files of the
     latest days are picked up again), onward.
   Events without an arrival day (one events file, the seeds, tables loaded by recsys-load-raw) are in
   every window: such a source is re-processed whole, as a full build would.
   `dbt build --full-refresh` rebuilds everything. On Spark the models stay tables (Parquet tables
   cannot delete rows; an incremental strategy there needs Delta or Iceberg). #}

{% macro incremental_events() -%}
    {{ return('table' if target.type == 'spark' else 'incremental') }}
{%- endmacro %}

{# the raw events' arrival day and file: DuckDB's raw views have them (null for one events file), and so
   do the tables recsys-load-raw copies from them into PostgreSQL; Spark's raw tables and seeds do not #}
{% macro raw_arrival_day() -%}
    {%- if reading_raw_files() and target.type != 'spark' -%} _arrival_day {%- else -%} cast(null as date) {%- endif -%}
{%- endmacro %}

{% macro raw_source_file() -%}
    {%- if reading_raw_files() and target.type != 'spark' -%} _source_file {%- else -%} cast(null as {{ dbt.type_string() }}) {%- endif -%}
{%- endmacro %}

{# the arrival days this run re-processes, as a predicate on ``column`` (a date); true on full builds #}
{% macro in_arrival_window(column) -%}
    {%- if not is_incremental() -%}
        (1 = 1)
    {%- elif var('arrival_from', none) -%}
        ({{ column }} is null or ({{ column }} >= cast('{{ var("arrival_from") }}' as date)
            {%- if var('arrival_to', none) %} and {{ column }} < cast('{{ var("arrival_to") }}' as date){% endif %}))
    {%- else -%}
        {%- set last = latest_in_this('arrival_day') -%}
        {%- if last is none -%}
            (1 = 1)
        {%- else -%}
            ({{ column }} is null or {{ column }} >= {{ dbt.dateadd('day', -1 * var('lookback_days'), "cast('" ~ last ~ "' as date)") }})
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}

{# when this run started: stamps the rows it stages, so that later models find what changed #}
{% macro staged_at() -%}
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as {{ dbt.type_timestamp() }})
{%- endmacro %}

{# the largest value of ``column`` in this incremental model's table; none when it is empty or has no
   such column yet (a table built before the column existed: the run then processes everything) #}
{% macro latest_in_this(column) -%}
    {%- if not (execute and is_incremental()) -%}{{ return(none) }}{%- endif -%}
    {%- set names = adapter.get_columns_in_relation(this) | map(attribute='name') | map('lower') | list -%}
    {%- if column not in names -%}{{ return(none) }}{%- endif -%}
    {{ return(run_query("select max(" ~ column ~ ") from " ~ this).columns[0].values()[0]) }}
{%- endmacro %}

{# the latest staged_at that an incremental model has processed (a literal), none when it is empty #}
{% macro processed_through() -%}
    {{ return(latest_in_this('staged_through')) }}
{%- endmacro %}

{# the event days touched by events staged after ``through`` (all days when it is none) #}
{% macro touched_event_days(through) -%}
    select distinct {{ dbt.date_trunc('day', 'event_at') }} as event_day
    from {{ ref('stg_shop__events_validated') }}
    where event_at is not null
    {%- if through is not none %} and staged_at > cast('{{ through }}' as {{ dbt.type_timestamp() }}){% endif %}
{%- endmacro %}
