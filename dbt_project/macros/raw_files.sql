{# Whether the raw relations come from raw files (RECSYS_RAW_DIR, loaded by the pipeline's raw/ step or
   `recsys-load-raw`, ml/ingest/raw_files.py) rather than the seeds #}
{% macro reading_raw_files() -%}
    {{ return(var('raw_data_dir', '') != '') }}
{%- endmacro %}

{# The raw relation of a table: the seed that loads the sample, or, with raw files, the source
   shop.<table> (whose asset is the raw-file step's). Staging reads only through this. #}
{% macro raw_relation(table) -%}
    {%- if reading_raw_files() %}{{ source('shop', table) }}{% else %}{{ ref('raw_' ~ table) }}{% endif -%}
{%- endmacro %}

{# a raw column as text (files may carry natural types; validation works on the text) #}
{% macro raw_text(column) -%}
    cast({{ column }} as {{ dbt.type_string() }})
{%- endmacro %}

{# the row's position in its raw table: the loader's _row_number for files, else the scan order of the seed #}
{% macro raw_row_number() -%}
    {%- if reading_raw_files() -%} _row_number {%- else -%} {{ adapter.dispatch('seed_row_number', 'recsys')() }} {%- endif -%}
{%- endmacro %}
{% macro default__seed_row_number() -%} row_number() over () {%- endmacro %}
{# Spark has no scan order without ORDER BY: ids increasing in the order of the seed table's file #}
{% macro spark__seed_row_number() -%} monotonically_increasing_id() {%- endmacro %}

{# text -> bigint when the text is a plain integer within bigint's range, else null #}
{% macro integer_id(text) -%}
    case when {{ is_integer_text('trim(' ~ text ~ ')') }} then {{ try_cast_to('trim(' ~ text ~ ')', dbt.type_bigint()) }} end
{%- endmacro %}

{# The first rule a row breaks: rules are [reason, column, condition]; gives quarantine_reason, the
   column at fault and its raw value (the text column raw_<column>) #}
{% macro quarantine_verdict(rules) -%}
    case {%- for reason, column, condition in rules %} when {{ condition }} then '{{ reason }}'{% endfor %} end as quarantine_reason,
    case {%- for reason, column, condition in rules %} when {{ condition }} then '{{ column }}'{% endfor %} end as quarantine_column,
    case {%- for reason, column, condition in rules %} when {{ condition }} then raw_{{ column }}{% endfor %} end as quarantine_value
{%- endmacro %}

{# The CSV lines the reader could not split into the table's columns, as quarantined rows of the
   validated model (every typed column null); nothing when the raw data are seeds #}
{% macro malformed_lines(table, columns) -%}
    {%- if reading_raw_files() %}
union all
select
    {%- for column, type in columns %}
    cast(null as {{ type }}) as {{ column }},
    {%- endfor %}
    'malformed_line' as quarantine_reason,
    cast(null as {{ dbt.type_string() }}) as quarantine_column,
    {{ dbt.concat(["'line '", raw_text('line'), "': '", 'error', "': '", 'raw_line']) }} as quarantine_value
from {{ source('shop', table ~ '_rejected') }}
    {%- endif %}
{%- endmacro %}

{# rows in a raw table: the rows of its relation plus, when raw files are read, its malformed lines, and
   for the events the live log's rows (macro live_events_as_raw) #}
{% macro raw_rows_in(table) -%}
    (select count(*) from {{ raw_relation(table) }})
    {%- if reading_raw_files() %} + (select count(*) from {{ source('shop', table ~ '_rejected') }}){% endif %}
    {%- if table == 'events' %} + {{ live_raw_rows() }}{% endif %}
{%- endmacro %}
