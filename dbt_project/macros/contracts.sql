{# A mart's SQL ends in {{ contract_typed_start() }} ... {{ contract_typed_end() }}: the query in
   between is projected onto the columns of the model's enforced contract (its yml), each cast to the
   declared data_type, so the yml is the one definition of the columns Python reads. #}
{% macro contract_typed_start() -%}
select
    {%- for name, column in model.columns.items() %}
    cast({{ name }} as {{ column.data_type }}) as {{ name }}{{ ',' if not loop.last }}
    {%- endfor %}
from (
{%- endmacro %}

{% macro contract_typed_end() -%}
) as contracted
{%- endmacro %}
