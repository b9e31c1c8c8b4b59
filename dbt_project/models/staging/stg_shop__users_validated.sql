-- every raw user row with its quarantine reason (null = valid), the column at fault and its raw value;
-- staged and quarantined rows split it. Values are read as text and validated here.
with raw as (
    select
        {{ raw_row_number() }} as source_row,
        {{ raw_text('user_id') }} as raw_user_id,
        {{ raw_text('signup_at') }} as raw_signup_at,
        {{ raw_text('country') }} as country,
        {{ raw_text('segment') }} as segment,
        {{ raw_text('age_band') }} as age_band
    from {{ raw_relation('users') }}
),

typed as (
    select
        raw.*,
        {{ integer_id('raw_user_id') }} as user_id,
        {{ utc_timestamp('raw_signup_at') }} as signup_at
    from raw
),

ranked as (
    -- the first row of a user_id in file order is kept; later rows are duplicates
    select typed.*, row_number() over (partition by user_id order by source_row) as id_rank
    from typed
),

checked as (
    select
        ranked.*,
        {{ quarantine_verdict([
            ['missing_or_invalid_user_id', 'user_id', 'user_id is null'],
            ['invalid_signup_at', 'signup_at', 'signup_at is null and raw_signup_at is not null'],
            ['signup_at_out_of_range', 'signup_at', "signup_at < cast('" ~ var('event_time_min') ~ "' as " ~ dbt.type_timestamp() ~ ") or signup_at > " ~ dbt.dateadd('day', 1, dbt.current_timestamp())],
            ['duplicate_user_id', 'user_id', 'id_rank > 1'],
        ]) }}
    from ranked
)

select
    user_id, signup_at, country, segment, age_band,
    case when quarantine_reason is not null then raw_user_id end as raw_user_id,
    quarantine_reason, quarantine_column, quarantine_value
from checked
{{ malformed_lines('users', [
    ['user_id', dbt.type_bigint()], ['signup_at', dbt.type_timestamp()], ['country', dbt.type_string()],
    ['segment', dbt.type_string()], ['age_band', dbt.type_string()], ['raw_user_id', dbt.type_string()],
]) }}
