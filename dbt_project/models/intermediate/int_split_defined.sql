-- one row: the train/test boundary. The test window is the last `test_days` whole days of events,
-- unless `split_at` pins it. end_at is exclusive.
with bounds as (
    select
        min(event_at) as min_event_at,
        {{ dbt.dateadd('day', 1, dbt.date_trunc('day', 'max(event_at)')) }} as end_at
    from {{ ref('int_events_referenced') }}
    where quarantine_reason is null
)

select
    min_event_at,
    end_at,
    {% if var('split_at') -%}
    cast('{{ var("split_at") }}' as {{ dbt.type_timestamp() }})
    {%- else -%}
    {{ dbt.dateadd('day', -1 * var('test_days'), 'end_at') }}
    {%- endif %} as split_at
from bounds
