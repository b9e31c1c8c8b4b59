{# The leaderboard's metric columns: the ranking and beyond-accuracy metrics of the registry
   (ml/metrics.py) in its order, as the evaluations write it to evaluation.metric_definitions.
   Before any evaluation has run there is no registry table and no metric column. #}
{% macro leaderboard_metrics() -%}
    {%- if not execute %}{{ return([]) }}{% endif %}
    {%- set rel = adapter.get_relation(database=target.get('database'), schema='evaluation', identifier='metric_definitions') %}
    {%- if rel is none %}{{ return([]) }}{% endif %}
    {%- set rows = run_query("select metric from " ~ rel ~ " where kind in ('ranking', 'beyond_accuracy') order by position") %}
    {{ return(rows.columns[0].values() | list) }}
{%- endmacro %}

{# The per-model metric tables in schema evaluation (none before the first evaluation). #}
{% macro evaluation_tables() -%}
    {%- if not execute %}{{ return([]) }}{% endif %}
    {%- set tables = [] %}
    {%- for name in adapter.dispatch('evaluation_table_names', 'recsys')() | sort if name != 'metric_definitions' %}
        {%- do tables.append(api.Relation.create(database=target.get('database'), schema='evaluation', identifier=name)) %}
    {%- endfor %}
    {{ return(tables) }}
{%- endmacro %}
{% macro default__evaluation_table_names() -%}
    {{ return(run_query("select table_name from information_schema.tables where table_schema = 'evaluation'").columns[0].values() | list) }}
{%- endmacro %}
{# Spark has no information_schema #}
{% macro spark__evaluation_table_names() -%}
    {%- if not adapter.check_schema_exists(target.get('database'), 'evaluation') %}{{ return([]) }}{% endif %}
    {{ return(run_query("show tables in evaluation").columns[1].values() | list) }}
{%- endmacro %}
