{# The rows of a live-log source table, or none (typed text columns) before the log was ever loaded:
   a plain `dbt build` builds the experiment marts empty instead of failing on a missing table #}
{% macro live_rows(table) -%}
    {%- set relation = source('live', table) -%}
    {%- set columns = graph.sources['source.recsys.live.' ~ table].columns.keys() | list if execute else [] -%}
    {%- if execute and load_relation(relation) is none -%}
    (select {% for c in columns %}cast(null as {{ dbt.type_string() }}) as {{ c }}{% if not loop.last %}, {% endif %}{% endfor %} where 1 = 0)
    {%- else -%}
    {{ relation }}
    {%- endif -%}
{%- endmacro %}
