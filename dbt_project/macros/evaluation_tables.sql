{# The tables of the source `evaluation` (the Python evaluation assets append to them), created empty from
   their declaration in models/leaderboard/_evaluation__sources.yml when missing: the leaderboard's
   pre-hook, so that it builds before any evaluation ran (a dbt build by hand, a fresh warehouse). The
   Python writer (ml/warehouse/evaluation_store.py) creates them from the same declaration. #}
{% macro create_evaluation_tables() -%}
    {%- if not execute %}{{ return('') }}{% endif %}
    {%- set types = {'varchar': dbt.type_string(), 'integer': dbt.type_int(), 'bigint': dbt.type_bigint(),
                     'double': type_double(), 'timestamp': dbt.type_timestamp()} %}
    {%- set statements = [] %}
    {%- for source in graph.sources.values() if source.source_name == 'evaluation' %}
        {%- set columns = [] %}
        {%- for name, column in source.columns.items() %}
            {%- do columns.append(name ~ ' ' ~ types[column.data_type]) %}
        {%- endfor %}
        {%- do statements.append(adapter.dispatch('create_table_if_missing', 'recsys')(source.schema ~ '.' ~ source.identifier, columns)) %}
    {%- endfor %}
    {%- do run_query('create schema if not exists evaluation') %}
    {%- for statement in statements %}{% do run_query(statement) %}{% endfor %}
{%- endmacro %}
{% macro default__create_table_if_missing(relation, columns) -%}
    create table if not exists {{ relation }} ({{ columns | join(', ') }})
{%- endmacro %}
{% macro spark__create_table_if_missing(relation, columns) -%}
    create table if not exists {{ relation }} ({{ columns | join(', ') }}) using parquet
{%- endmacro %}
