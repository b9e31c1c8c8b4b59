-- Fails when, for any raw table, rows in != rows staged + rows quarantined (marts.raw_row_counts), or
-- staging did not read every raw row: the rows of the raw relation plus, when raw files are read, the
-- lines the CSV reader could not split (quarantined as malformed_line).
{{ config(meta={'dagster': {'ref': {'name': 'raw_row_counts'}}}) }}
with raw_rows as (
    select 'events' as source_table, {{ raw_rows_in('events') }} as raw_rows
    union all
    select 'users', {{ raw_rows_in('users') }}
    union all
    select 'items', {{ raw_rows_in('items') }}
)

select c.*, r.raw_rows
from {{ ref('raw_row_counts') }} as c
inner join raw_rows as r on c.source_table = r.source_table
where c.rows_in != c.rows_staged + c.rows_quarantined or c.rows_in != r.raw_rows
