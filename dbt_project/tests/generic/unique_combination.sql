{# Rows whose combination of `columns` is not unique (dbt's unique test takes one column; a
   concatenation of the columns would need a cast to text, whose name differs by engine) #}
{% test unique_combination(model, columns) %}
select {{ columns | join(', ') }}, count(*) as n_rows
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}
