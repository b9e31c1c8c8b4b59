{# Adapter-specific SQL lives here, behind adapter.dispatch; models call only these macros. #}

{# cast that yields null instead of failing on malformed input #}
{% macro try_cast_to(expr, type) -%}
    {{ return(adapter.dispatch('try_cast_to', 'recsys')(expr, type)) }}
{%- endmacro %}
{% macro default__try_cast_to(expr, type) -%}
    {{ dbt.safe_cast(expr, type) }}
{%- endmacro %}
{% macro spark__try_cast_to(expr, type) -%}
    try_cast({{ expr }} as {{ type }})
{%- endmacro %}
{% macro duckdb__try_cast_to(expr, type) -%}
    try_cast({{ expr }} as {{ type }})
{%- endmacro %}
{# PostgreSQL has no try_cast: functions that catch the cast's error (created by create_helpers) #}
{% macro postgres__try_cast_to(expr, type) -%}
    {%- set kind = type | lower -%}
    {%- if 'bigint' in kind -%}{% set fn = 'bigint' %}
    {%- elif 'float' in kind or 'double' in kind -%}{% set fn = 'float' %}
    {%- elif 'timestamp' in kind -%}{% set fn = 'timestamp' %}
    {%- else -%}{{ exceptions.raise_compiler_error("try_cast_to: no PostgreSQL helper for type " ~ type) }}
    {%- endif -%}
    {{ target.schema }}.recsys_try_{{ fn }}(cast({{ expr }} as text))
{%- endmacro %}

{# on-run-start: helper functions the macros above need on adapters that lack them #}
{% macro create_helpers() -%}
    {{ return(adapter.dispatch('create_helpers', 'recsys')()) }}
{%- endmacro %}
{% macro default__create_helpers() -%}
    select 1
{%- endmacro %}
{% macro postgres__create_helpers() -%}
    create schema if not exists {{ target.schema }};
    {%- for fn, type in [('bigint', 'bigint'), ('float', 'double precision'), ('timestamp', 'timestamp'), ('timestamptz', 'timestamptz')] %}
    create or replace function {{ target.schema }}.recsys_try_{{ fn }}(value text) returns {{ type }}
    language plpgsql immutable as $$
    begin
        return value::{{ type }};
    exception when others then
        return null;
    end $$;
    {%- endfor %}
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


{# the value of a timestamp column below which `fraction` of the rows fall (an existing value) #}
{% macro time_quantile(expr, fraction) -%}
    {{ return(adapter.dispatch('time_quantile', 'recsys')(expr, fraction)) }}
{%- endmacro %}
{% macro default__time_quantile(expr, fraction) -%}
    percentile_disc({{ fraction }}) within group (order by {{ expr }})
{%- endmacro %}
{# Spark's percentile_disc takes numbers, not timestamps: the discrete quantile of the epoch seconds #}
{% macro spark__time_quantile(expr, fraction) -%}
    timestamp_seconds(percentile_disc({{ fraction }}) within group (order by unix_timestamp({{ expr }})))
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

{# true when the text is a plain integer: optional minus sign and digits only (no '1.5', '1e3', '0x1F', '1_000') #}
{% macro is_integer_text(expr) -%}
    {{ return(adapter.dispatch('is_integer_text', 'recsys')(expr)) }}
{%- endmacro %}
{% macro default__is_integer_text(expr) -%}
    ({{ expr }} ~ '^-?[0-9]+$')
{%- endmacro %}
{% macro duckdb__is_integer_text(expr) -%}
    regexp_full_match({{ expr }}, '-?[0-9]+')
{%- endmacro %}
{% macro spark__is_integer_text(expr) -%}
    ({{ expr }} rlike '^-?[0-9]+$')
{%- endmacro %}

{# text -> timestamp in UTC: a time with an offset ('+02:00', '+0200', 'Z', 'UTC') is converted to
   UTC, a time without one is taken as UTC already; null when the text is not a timestamp #}
{% macro utc_timestamp(expr) -%}
    {{ return(adapter.dispatch('utc_timestamp', 'recsys')(expr)) }}
{%- endmacro %}
{% macro default__utc_timestamp(expr) -%}
    {{ try_cast_to(expr, dbt.type_timestamp()) }}
{%- endmacro %}
{# PostgreSQL also reads words ('yesterday', 'now', 'epoch') as timestamps: only text starting with a
   digit (or infinity, which the range checks then refuse, as on DuckDB) is parsed #}
{% macro postgres__utc_timestamp(expr) -%}
    case
        when {{ expr }} ~* '^\s*([0-9]|[+-]?infinity\s*$)' then
            case
                when {{ expr }} ~ '[0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]*)?)?\s*([+-][0-9]{2}(:?[0-9]{2})?|[zZ]|UTC)$'
                    then {{ target.schema }}.recsys_try_timestamptz({{ expr }}) at time zone 'UTC'
                else {{ target.schema }}.recsys_try_timestamp({{ expr }})
            end
    end
{%- endmacro %}
{% macro spark__utc_timestamp(expr) -%}
    case
        when {{ expr }} rlike '[0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]*)?)?\\s*([+-][0-9]{2}(:?[0-9]{2})?|[zZ]|UTC)$'
            then try_cast({{ expr }} as timestamp)
        else try_cast({{ expr }} as timestamp_ntz)
    end
{%- endmacro %}
{% macro duckdb__utc_timestamp(expr) -%}
    case
        when regexp_matches({{ expr }}, '[0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]*)?)?\s*([+-][0-9]{2}(:?[0-9]{2})?|[zZ]|UTC)$')
            then timezone('UTC', try_cast({{ expr }} as timestamptz))
        else try_cast({{ expr }} as timestamp)
    end
{%- endmacro %}

{# 8-byte floating point (dbt.type_float() is a 4-byte REAL on DuckDB) #}
{% macro type_double() -%}
    {{ return(adapter.dispatch('type_double', 'recsys')()) }}
{%- endmacro %}
{% macro default__type_double() -%}
    double precision
{%- endmacro %}
{% macro spark__type_double() -%}
    double
{%- endmacro %}

{# A sum (or mean) of doubles that does not depend on the order the engine adds them in: a parallel
   aggregation adds in any order, and the last bits of a double sum move with it (at 10M events a third
   of the price features differed by up to 1e-13 between two builds of the same data, enough to change
   LightGBM's trees and its test AUC). Added as decimal(38, 9), which is exact, then a double again. #}
{% macro exact_sum(expr) -%}
    cast(sum(cast({{ expr }} as decimal(38, 9))) as {{ type_double() }})
{%- endmacro %}

{% macro exact_avg(expr, over='') -%}
    cast(avg(cast({{ expr }} as decimal(38, 9))) {{ over }} as {{ type_double() }})
{%- endmacro %}
