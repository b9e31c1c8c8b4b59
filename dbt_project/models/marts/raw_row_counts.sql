-- per raw table: the rows staging read (every row of the raw relation and, with raw files, every line a
-- CSV reader could not split: the validated staging model has one row for each), the rows staged
-- (events: also referencing a known user and item) and the rows quarantined. Rows in = rows staged +
-- rows quarantined, and rows in = raw_rows, the raw relation's rows plus the lines a CSV reader could not
-- split (singular test assert_quarantine_reconciles, which so reads this model alone).
{{ contract_typed_start() }}
with counts as (
    select 'events' as source_table,
        (select count(*) from {{ ref('stg_shop__events_validated') }}) as rows_in,
        (select count(*) from {{ ref('int_events_referenced') }} where quarantine_reason is null) as rows_staged,
        {{ raw_rows_in('events') }} as raw_rows
    union all
    select 'users',
        (select count(*) from {{ ref('stg_shop__users_validated') }}),
        (select count(*) from {{ ref('stg_shop__users') }}),
        {{ raw_rows_in('users') }}
    union all
    select 'items',
        (select count(*) from {{ ref('stg_shop__items_validated') }}),
        (select count(*) from {{ ref('stg_shop__items') }}),
        {{ raw_rows_in('items') }}
),

quarantined as (
    select source_table, count(*) as rows_quarantined
    from {{ ref('quarantined_rows') }}
    group by source_table
)

select c.source_table, c.rows_in, c.rows_staged, coalesce(q.rows_quarantined, 0) as rows_quarantined, c.raw_rows
from counts as c
left join quarantined as q on c.source_table = q.source_table
{{ contract_typed_end() }}
