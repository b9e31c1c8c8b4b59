{# Adapter-specific SQL lives here, behind adapter.dispatch; models call only these macros. #}

{# cast that yields null instead of failing on malformed input #}
{% macro try_cast_to(expr, type) -%}
    {{ return(adapter.dispatch('try_cast_to', 'recsys')(expr, type)) }}
{%- endmacro %}
{% macro default__try_cast_to(expr, type) -%}
    {{ dbt.safe_cast(expr, type) }}
{%- endmacro %}
{% macro duckdb__try_cast_to(expr, type) -%}
    try_cast({{ expr }} as {{ type }})
{%- endmacro %}

{% macro hour_of_day(expr) -%}
    {{ return(adapter.dispatch('hour_of_day', 'recsys')(expr)) }}
{%- endmacro %}
{% macro default__hour_of_day(expr) -%}
    extract(hour from {{ expr }})
{%- endmacro %}

{# 1 on Saturday and Sunday #}
{% macro is_weekend(expr) -%}
    {{ return(adapter.dispatch('is_weekend', 'recsys')(expr)) }}
{%- endmacro %}
{% macro default__is_weekend(expr) -%}
    case when extract(dow from {{ expr }}) in (0, 6) then 1 else 0 end
{%- endmacro %}
{% macro spark__is_weekend(expr) -%}
    case when dayofweek({{ expr }}) in (1, 7) then 1 else 0 end
{%- endmacro %}

{# Raw files as the raw relations (only for adapters that can read files in SQL). #}
{% macro register_raw_files() -%}
    {{ return(adapter.dispatch('register_raw_files', 'recsys')()) }}
{%- endmacro %}
{% macro default__register_raw_files() -%}
    {% if var('raw_data_dir', '') != '' %}
        {{ exceptions.raise_compiler_error("raw_data_dir is only supported on DuckDB; on " ~ target.type ~ " load raw_users, raw_items and raw_events into the raw schema with your loader") }}
    {% endif %}
    select 1
{%- endmacro %}
{% macro duckdb__register_raw_files() -%}
    {% set dir = var('raw_data_dir', '') %}
    {% if dir == '' %}
        select 1
    {% else %}
        {% set fmt = var('raw_data_format', 'parquet') %}
        {% if fmt not in ('parquet', 'csv') %}
            {{ exceptions.raise_compiler_error("raw_data_format must be 'parquet' or 'csv', got '" ~ fmt ~ "'") }}
        {% endif %}
        create schema if not exists raw;
        {% for table in ['users', 'items', 'events'] %}
            {% set path = dir ~ '/' ~ table ~ '.' ~ fmt %}
            {% if fmt == 'parquet' %}
                {% set reader = "read_parquet('" ~ path ~ "')" %}
            {% else %}
                {% set reader = "read_csv('" ~ path ~ "', header = true, all_varchar = true)" %}
            {% endif %}
            create or replace view raw.raw_{{ table }} as select * from {{ reader }};
        {% endfor %}
    {% endif %}
{%- endmacro %}

{% macro event_weight(event_type_col) -%}
    case {{ event_type_col }}
    {%- for event_type, weight in var('event_weights').items() %}
        when '{{ event_type }}' then {{ weight }}
    {%- endfor %}
        else 0
    end
{%- endmacro %}

{# Bayesian-smoothed rate: (successes + prior_strength * prior_rate) / (trials + prior_strength) #}
{% macro smoothed_rate(successes, trials, prior_rate) -%}
    ({{ successes }} + {{ var('ctr_prior_strength') }} * {{ prior_rate }}) / ({{ trials }} + {{ var('ctr_prior_strength') }})
{%- endmacro %}

{# When the seeds fill the raw schema, make a staging model run after its seed (dbt cannot see
   that a source is loaded by a seed). With raw files there is no seed and no dependency. #}
{% macro depends_on_seed(seed_name) -%}
    {%- if var('raw_data_dir', '') == '' %}
-- depends_on: {{ ref(seed_name) }}
    {%- endif %}
{%- endmacro %}

{# the value of a timestamp column below which `fraction` of the rows fall (an existing value) #}
{% macro time_quantile(expr, fraction) -%}
    {{ return(adapter.dispatch('time_quantile', 'recsys')(expr, fraction)) }}
{%- endmacro %}
{% macro default__time_quantile(expr, fraction) -%}
    percentile_disc({{ fraction }}) within group (order by {{ expr }})
{%- endmacro %}
{% macro spark__time_quantile(expr, fraction) -%}
    timestamp_seconds(percentile(unix_timestamp({{ expr }}), {{ fraction }}))
{%- endmacro %}

{# false for NaN and +-infinity (null stays null) #}
{% macro is_finite(expr) -%}
    {{ return(adapter.dispatch('is_finite', 'recsys')(expr)) }}
{%- endmacro %}
{% macro default__is_finite(expr) -%}
    ({{ expr }} not in (cast('NaN' as {{ dbt.type_float() }}), cast('Infinity' as {{ dbt.type_float() }}), cast('-Infinity' as {{ dbt.type_float() }})))
{%- endmacro %}
{% macro duckdb__is_finite(expr) -%}
    isfinite({{ expr }})
{%- endmacro %}
