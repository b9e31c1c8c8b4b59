{# The split strategies (var split_strategy): where validation and test windows start.

- last_days:     test = the last test_days whole days (or from split_at), validation = the
                 validation_days before it; one boundary for every user.
- last_fraction: test = the last test_fraction of events by time, validation = the
                 validation_fraction before it; one boundary for every user (any data density).
- leave_last_k:  per user: the last holdout_k items the user interacted with (by first interaction)
                 are test, the holdout_k before them validation; users with too few items stay train.
#}
{% macro split_strategy() -%}
    {%- set strategy = var('split_strategy') -%}
    {%- if strategy not in ('last_days', 'last_fraction', 'leave_last_k') -%}
        {{ exceptions.raise_compiler_error("var split_strategy must be last_days, last_fraction or leave_last_k, got '" ~ strategy ~ "'") }}
    {%- endif -%}
    {{ return(strategy) }}
{%- endmacro %}

{# first event and the exclusive end of the data (midnight after the last event) of usable events #}
{% macro event_time_bounds(events) -%}
    select
        min(event_at) as min_event_at,
        {{ dbt.dateadd('day', 1, dbt.date_trunc('day', 'max(event_at)')) }} as end_at
    from {{ events }}
    where quarantine_reason is null
{%- endmacro %}
