{{ config(
    materialized=incremental_events(),
    tags=['events_by_day'],
    incremental_strategy='append',
    on_schema_change='append_new_columns',
    pre_hook="{% if is_incremental() %}delete from {{ this }} where {{ in_arrival_window('arrival_day') }}{% endif %}",
) }}
-- every raw event row with its quarantine reason (null = valid), the column at fault and its raw value.
-- Values are read as text and validated here. The first failing rule wins; only rules about the row
-- itself: references to users and items are checked in int_events_referenced.
-- The live log's events and exposures (impressions) join the raw events here (macro live_events_as_raw).
-- Incremental (macros/incremental.sql): a run re-stages the events of its arrival days; an event_id
-- staged from an earlier arrival is taken, as a row earlier in the file is in a full build.
with raw as (
    select
        {{ raw_row_number() }} as source_row,
        {{ raw_arrival_day() }} as arrival_day,
        {{ raw_source_file() }} as source_file,
        {{ raw_text('event_id') }} as raw_event_id,
        {{ raw_text('user_id') }} as raw_user_id,
        {{ raw_text('item_id') }} as raw_item_id,
        {{ raw_text('event_type') }} as raw_event_type,
        {{ raw_text('event_at') }} as raw_event_at
    from {{ raw_relation('events') }}
    {{ live_events_as_raw() }}
),

arrived as (
    select * from raw where {{ in_arrival_window('arrival_day') }}
),

typed as (
    select
        arrived.*,
        {{ integer_id('raw_event_id') }} as event_id,
        {{ integer_id('raw_user_id') }} as user_id,
        {{ integer_id('raw_item_id') }} as item_id,
        lower(trim(raw_event_type)) as event_type,
        {{ utc_timestamp('raw_event_at') }} as event_at
    from arrived
),

ranked as (
    -- the first row of an event_id (in arrival and file order) is kept: a later row with the same
    -- content is an exact duplicate, a later row with other content reuses an event_id already taken
    select
        typed.*,
        row_number() over (partition by event_id order by arrival_day, source_file, source_row)
        {%- if is_incremental() %}
        + case when exists (select 1 from {{ this }} as t where t.event_id = typed.event_id) then 1 else 0 end
        {%- endif %} as id_rank,
        row_number() over (
            partition by event_id, user_id, item_id, event_type, event_at order by arrival_day, source_file, source_row
        )
        {%- if is_incremental() %}
        + case when exists (
            select 1 from {{ this }} as t
            where t.event_id = typed.event_id and t.user_id = typed.user_id and t.item_id = typed.item_id
                and t.event_type = typed.event_type and t.event_at = typed.event_at
        ) then 1 else 0 end
        {%- endif %} as copy_rank
    from typed
),

checked as (
    select
        ranked.*,
        {{ quarantine_verdict([
            ['missing_or_invalid_event_id', 'event_id', 'event_id is null'],
            ['missing_or_invalid_user_id', 'user_id', 'user_id is null'],
            ['missing_or_invalid_item_id', 'item_id', 'item_id is null'],
            ['unknown_event_type', 'event_type', "event_type is null or event_type not in ('" ~ var('event_weights').keys() | join("', '") ~ "')"],
            ['invalid_event_at', 'event_at', 'event_at is null'],
            ['event_at_out_of_range', 'event_at', "event_at < cast('" ~ var('event_time_min') ~ "' as " ~ dbt.type_timestamp() ~ ") or event_at > " ~ dbt.dateadd('day', 1, dbt.current_timestamp())],
            ['exact_duplicate', 'event_id', 'copy_rank > 1'],
            ['duplicate_event_id', 'event_id', 'id_rank > 1'],
        ]) }}
    from ranked
)

-- raw text is kept for quarantined rows only (valid rows are fully described by the typed columns)
select
    event_id, user_id, item_id, event_type, event_at, arrival_day,
    {{ staged_at() }} as staged_at,
    {%- for col in ['event_id', 'user_id', 'item_id'] %}
    case when quarantine_reason is not null then raw_{{ col }} end as raw_{{ col }},
    {%- endfor %}
    quarantine_reason, quarantine_column, quarantine_value
from checked
{{ malformed_lines('events', [
    ['event_id', dbt.type_bigint()], ['user_id', dbt.type_bigint()], ['item_id', dbt.type_bigint()],
    ['event_type', dbt.type_string()], ['event_at', dbt.type_timestamp()], ['arrival_day', 'date'],
    ['staged_at', dbt.type_timestamp()], ['raw_event_id', dbt.type_string()], ['raw_user_id', dbt.type_string()], ['raw_item_id', dbt.type_string()],
]) }}
