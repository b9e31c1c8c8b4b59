{# The raw data contract: per raw table, the columns a file must have and the ones it may lack (a
   missing optional column reads as null). Staging reads every value as text and validates it. #}
{% macro raw_contract() -%}
    {{ return({
        'users': {'required': ['user_id'], 'optional': ['signup_at', 'country', 'segment', 'age_band']},
        'items': {'required': ['item_id', 'category', 'released_at'], 'optional': ['title', 'brand', 'price']},
        'events': {'required': ['event_id', 'user_id', 'item_id', 'event_type', 'event_at'], 'optional': []},
    }) }}
{%- endmacro %}

{% macro reading_raw_files() -%}
    {{ return(var('raw_data_dir', '') != '') }}
{%- endmacro %}

{# a SQL string literal (quotes doubled): file paths never enter SQL unescaped #}
{% macro sql_string(text) -%}
    '{{ text | replace("'", "''") }}'
{%- endmacro %}

{# The contract's columns that a raw file lacks, as null text columns to add: stops the build when a
   required column is missing, naming the columns the file has #}
{% macro missing_columns(path, columns, found) -%}
    {% for column in columns.required if column not in found %}
        {{ exceptions.raise_compiler_error("raw file " ~ path ~ " has no column '" ~ column ~ "' (it has: " ~ found | join(', ') ~ "). Required columns: " ~ columns.required | join(', ') ~ "; rename the column in the file or re-export it") }}
    {% endfor %}
    {% set missing = [] %}
    {% for column in columns.optional if column not in found %}{% do missing.append("cast(null as " ~ dbt.type_string() ~ ") as " ~ column) %}{% endfor %}
    {{ return(missing) }}
{%- endmacro %}

{# Raw files as the raw relations raw.raw_<table> (only for adapters that can read files in SQL), each
   with its position in the file (_row_number: the first of duplicate rows is kept) and
   raw.raw_<table>_rejected: the lines a CSV reader could not split into the columns (ragged rows,
   bytes that are not UTF-8), quarantined by staging rather than stopping the run. #}
{% macro register_raw_files() -%}
    {{ return(adapter.dispatch('register_raw_files', 'recsys')()) }}
{%- endmacro %}
{# other adapters cannot read files in SQL: raw files are loaded by `recsys-load-raw <dir>` (COPY) into
   the raw schema first; with raw_data_dir set, the build checks they are there #}
{% macro default__register_raw_files() -%}
    {% if reading_raw_files() and execute %}
        {% for table in raw_contract() %}
            {% for name in ['raw_' ~ table, 'raw_' ~ table ~ '_rejected'] %}
                {% if adapter.get_relation(database=target.database, schema='raw', identifier=name) is none %}
                    {{ exceptions.raise_compiler_error("raw." ~ name ~ " is not loaded on " ~ target.type ~ ": load the files of " ~ var('raw_data_dir') ~ " with `RECSYS_DBT_TARGET=" ~ target.name ~ " recsys-load-raw " ~ var('raw_data_dir') ~ "` first") }}
                {% endif %}
            {% endfor %}
        {% endfor %}
    {% endif %}
    select 1
{%- endmacro %}
{% macro duckdb__register_raw_files() -%}
    {% if reading_raw_files() and execute %}
        {% set dir = var('raw_data_dir') | string %}
        {% set fmt = var('raw_data_format', 'parquet') | string | trim | lower %}
        {% if fmt not in ('parquet', 'csv') %}
            {{ exceptions.raise_compiler_error("RECSYS_RAW_FORMAT (dbt var raw_data_format) must be parquet or csv, got '" ~ fmt ~ "': set it to the format of the files in " ~ dir) }}
        {% endif %}
        {% set readers = {} %}
        {# check every file before loading any: a run that cannot work stops before doing work #}
        {% for table, columns in raw_contract().items() %}
            {% set path = dir ~ '/' ~ table ~ '.' ~ fmt %}
            {% set by_day = dir ~ '/' ~ table ~ '/day=*/*.parquet' %}
            {% set partitioned = table == 'events' and fmt == 'parquet'
                and run_query("select count(*) from glob(" ~ sql_string(path) ~ ")").columns[0].values()[0] == 0
                and run_query("select count(*) from glob(" ~ sql_string(by_day) ~ ")").columns[0].values()[0] > 0 %}
            {% if partitioned %}
                {% set reader = "read_parquet(" ~ sql_string(by_day) ~ ", hive_partitioning = true, file_row_number = true, filename = true)" %}
                {% set found = run_query("select column_name from (describe select * from " ~ reader ~ ")").columns[0].values() | list %}
                {% do readers.update({table: {'reader': reader, 'path': by_day, 'partitioned': true, 'missing': missing_columns(by_day, columns, found | reject('in', ['file_row_number', 'filename', 'day']) | list)}}) %}
            {% else %}
                {% if run_query("select count(*) from glob(" ~ sql_string(path) ~ ")").columns[0].values()[0] == 0 %}
                    {{ exceptions.raise_compiler_error("raw file missing: " ~ path ~ ". RECSYS_RAW_DIR must hold users, items and events files in the raw data contract (README, 'Raw data contract'); events may instead be folders events/day=YYYY-MM-DD/*.parquet; write them with recsys-import or recsys-generate, or set RECSYS_RAW_FORMAT to the files' format (now " ~ fmt ~ ")") }}
                {% endif %}
                {% if run_query("select size from read_blob(" ~ sql_string(path) ~ ")").columns[0].values()[0] == 0 %}
                    {{ exceptions.raise_compiler_error("raw file is empty (0 bytes): " ~ path ~ ". It needs a header row with the columns " ~ columns.required | join(', ') ~ ", then one row per " ~ table[:-1]) }}
                {% endif %}
                {% if fmt == 'csv' %}
                    {% set reader = "read_csv(" ~ sql_string(path) ~ ", header = true, all_varchar = true, delim = ',', quote = '\"', escape = '\"', store_rejects = true, rejects_table = 'recsys_rejects_" ~ table ~ "', rejects_scan = 'recsys_scans_" ~ table ~ "')" %}
                {% else %}
                    {% set reader = "read_parquet(" ~ sql_string(path) ~ ", file_row_number = true)" %}
                {% endif %}
                {% set found = run_query("select column_name from (describe select * from " ~ reader ~ ")").columns[0].values() | list %}
                {% do readers.update({table: {'reader': reader, 'path': path, 'missing': missing_columns(path, columns, found | reject('equalto', 'file_row_number') | list)}}) %}
            {% endif %}
        {% endfor %}
        {% do run_query("create schema if not exists raw") %}
        {% set no_arrival = "cast(null as varchar) as _source_file, cast(null as date) as _arrival_day" %}
        {% for table, r in readers.items() %}
            {% set extra = (r.missing | join(', ') ~ ', ') if r.missing else '' %}
            {% if fmt == 'csv' %}
                {% do run_query("create or replace table raw.raw_" ~ table ~ " as select *, " ~ extra ~ "row_number() over () as _row_number, " ~ no_arrival ~ " from " ~ r.reader ~ ";
                    create or replace table raw.raw_" ~ table ~ "_rejected as
                    select line, string_agg(distinct error_type || ' (' || error_message || ')', '; ') as error, min(csv_line) as raw_line
                    from recsys_rejects_" ~ table ~ " group by line") %}
            {% elif r.partitioned %}
                {# arrival by day: events/day=YYYY-MM-DD/*.parquet, each file the events that landed that day #}
                {% do run_query("create or replace view raw.raw_" ~ table ~ " as select * exclude (file_row_number, filename, day), " ~ extra ~ "file_row_number + 1 as _row_number, filename as _source_file, cast(day as date) as _arrival_day from " ~ r.reader ~ ";
                    create or replace table raw.raw_" ~ table ~ "_rejected (line bigint, error varchar, raw_line varchar)") %}
            {% else %}
                {% do run_query("create or replace view raw.raw_" ~ table ~ " as select * exclude (file_row_number), " ~ extra ~ "file_row_number + 1 as _row_number, " ~ no_arrival ~ " from " ~ r.reader ~ ";
                    create or replace table raw.raw_" ~ table ~ "_rejected (line bigint, error varchar, raw_line varchar)") %}
            {% endif %}
        {% endfor %}
        {% for table, r in readers.items() %}
            {% if run_query("select count(*) from raw.raw_" ~ table).columns[0].values()[0] == 0 %}
                {{ exceptions.raise_compiler_error("raw file " ~ r.path ~ " has a header but no rows that could be read: there is nothing to stage; export the " ~ table ~ " into it" ~ (" (its malformed lines are in raw.raw_" ~ table ~ "_rejected)" if fmt == 'csv' else '')) }}
            {% endif %}
        {% endfor %}
    {% endif %}
    select 1
{%- endmacro %}

{# Spark reads raw Parquet files (CSV: convert with recsys-import, or use another engine) into tables
   raw.raw_<table>, each row's position in its file from Spark's _metadata.row_index; Parquet has no
   malformed lines, so raw_<table>_rejected is empty. #}
{% macro spark__register_raw_files() -%}
    {% if reading_raw_files() and execute %}
        {% set dir = var('raw_data_dir') | string %}
        {% set fmt = var('raw_data_format', 'parquet') | string | trim | lower %}
        {% if fmt != 'parquet' %}
            {{ exceptions.raise_compiler_error("RECSYS_RAW_FORMAT (dbt var raw_data_format) is '" ~ fmt ~ "': on Spark raw files must be Parquet. Write them with `recsys-import ... --format parquet` or `recsys-generate parquet`, or load CSV on DuckDB or PostgreSQL") }}
        {% endif %}
        {% set readers = {} %}
        {# check every file before loading any; a missing file stops with Spark's PATH_NOT_FOUND and its path #}
        {% for table, columns in raw_contract().items() %}
            {% set path = dir ~ '/' ~ table ~ '.parquet' %}
            {% set reader = "parquet.`" ~ path | replace('`', '``') ~ "`" %}
            {% set found = run_query("describe query select * from " ~ reader).columns[0].values() | list %}
            {% do readers.update({table: {'reader': reader, 'path': path, 'missing': missing_columns(path, columns, found)}}) %}
        {% endfor %}
        {% do run_query("create schema if not exists raw") %}
        {% for table, r in readers.items() %}
            {% set extra = (r.missing | join(', ') ~ ', ') if r.missing else '' %}
            {# Parquet tables cannot be replaced in one statement on Spark's session catalog #}
            {% for name in ['raw_' ~ table, 'raw_' ~ table ~ '_rejected'] %}{% do run_query("drop table if exists raw." ~ name) %}{% endfor %}
            {% do run_query("create table raw.raw_" ~ table ~ " using parquet as select *, " ~ extra ~ "_metadata.row_index + 1 as _row_number from " ~ r.reader) %}
            {% do run_query("create table raw.raw_" ~ table ~ "_rejected (line bigint, error string, raw_line string) using parquet") %}
            {% if run_query("select count(*) from raw.raw_" ~ table).columns[0].values()[0] == 0 %}
                {{ exceptions.raise_compiler_error("raw file " ~ r.path ~ " has a header but no rows: there is nothing to stage; export the " ~ table ~ " into it") }}
            {% endif %}
        {% endfor %}
    {% endif %}
    select 1
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

{# rows in a raw table: the rows of its relation plus, when raw files are read, its malformed lines #}
{% macro raw_rows_in(table) -%}
    (select count(*) from {{ source('shop', table) }})
    {%- if reading_raw_files() %} + (select count(*) from {{ source('shop', table ~ '_rejected') }}){% endif %}
{%- endmacro %}
