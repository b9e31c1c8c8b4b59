{{ config(meta={'dagster': {'ref': {'name': 'quarantined_rows'}}}) }}
-- Fails when rows in != rows staged + rows quarantined for any raw table (events are staged when
-- they also reference a known user and item). Rows in are the rows of the raw relation plus, when raw
-- files are read, the lines the CSV reader could not split (quarantined as malformed_line).
with counts as (
    select 'events' as source_table,
        {{ raw_rows_in('events') }} as rows_in,
        (select count(*) from {{ ref('int_events_referenced') }} where quarantine_reason is null) as rows_staged
    union all
    select 'users',
        {{ raw_rows_in('users') }},
        (select count(*) from {{ ref('stg_shop__users') }})
    union all
    select 'items',
        {{ raw_rows_in('items') }},
        (select count(*) from {{ ref('stg_shop__items') }})
),

quarantined as (
    select source_table, count(*) as rows_quarantined
    from {{ ref('quarantined_rows') }}
    group by source_table
)

select c.source_table, c.rows_in, c.rows_staged, coalesce(q.rows_quarantined, 0) as rows_quarantined
from counts as c
left join quarantined as q on c.source_table = q.source_table
where c.rows_in != c.rows_staged + coalesce(q.rows_quarantined, 0)
