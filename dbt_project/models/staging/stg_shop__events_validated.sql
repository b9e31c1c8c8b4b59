{{ depends_on_seed('raw_events') }}
-- every raw event row with its quarantine reason (null = valid). The first failing rule wins. Only
-- rules about the row itself: references to users and items are checked in int_events_referenced.
with typed as (
    select
        {{ try_cast_to('event_id', dbt.type_bigint()) }} as event_id,
        {{ try_cast_to('user_id', dbt.type_bigint()) }} as user_id,
        {{ try_cast_to('item_id', dbt.type_bigint()) }} as item_id,
        lower(trim(cast(event_type as {{ dbt.type_string() }}))) as event_type,
        {{ try_cast_to('event_at', dbt.type_timestamp()) }} as event_at,
        cast(event_id as {{ dbt.type_string() }}) as raw_event_id,
        cast(user_id as {{ dbt.type_string() }}) as raw_user_id,
        cast(item_id as {{ dbt.type_string() }}) as raw_item_id,
        cast(event_type as {{ dbt.type_string() }}) as raw_event_type,
        cast(event_at as {{ dbt.type_string() }}) as raw_event_at
    from {{ source('shop', 'events') }}
),

ranked as (
    -- one sort per event_id: rows with the same content share a rank(), so a row whose row_number
    -- exceeds its rank() is a later copy of an exact duplicate; a rank() above 1 is a different
    -- row reusing an event_id already taken by an earlier one
    select
        typed.*,
        row_number() over by_id as row_rank,
        rank() over by_id as content_rank
    from typed
    window by_id as (partition by event_id order by event_at, user_id, item_id, event_type)
),

checked as (
    select
    r.*,
    case
        when r.event_id is null then 'missing_or_invalid_event_id'
        when r.user_id is null then 'missing_or_invalid_user_id'
        when r.item_id is null then 'missing_or_invalid_item_id'
        when r.event_type is null
          or r.event_type not in ('{{ var("event_weights").keys() | join("', '") }}') then 'unknown_event_type'
        when r.event_at is null then 'invalid_event_at'
        when r.event_at < cast('{{ var("event_time_min") }}' as {{ dbt.type_timestamp() }})
          or r.event_at > {{ dbt.dateadd('day', 1, dbt.current_timestamp()) }} then 'event_at_out_of_range'
        when r.row_rank > r.content_rank then 'exact_duplicate'
        when r.content_rank > 1 then 'duplicate_event_id'
    end as quarantine_reason
from ranked as r
)

-- raw text is kept for quarantined rows only (valid rows are fully described by the typed columns)
select
    event_id, user_id, item_id, event_type, event_at, quarantine_reason,
    {%- for col in ['event_id', 'user_id', 'item_id', 'event_type', 'event_at'] %}
    case when quarantine_reason is not null then raw_{{ col }} end as raw_{{ col }}{{ ',' if not loop.last }}
    {%- endfor %}
from checked
