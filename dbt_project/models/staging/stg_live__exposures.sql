-- every position of every list the service served, typed; an exposure for a user id beyond BIGINT
-- (the API answers any JSON integer) is kept with its quarantine reason and its raw id, never coerced
with typed as (
    select
        {{ integer_id('seq') }} as exposure_seq,
        request_id,
        {{ integer_id('user_id') }} as user_id,
        user_id as raw_user_id,
        {{ integer_id('item_id') }} as item_id,
        cast({{ integer_id('position') }} as integer) as position,
        {{ try_cast_to('score', dbt.type_float()) }} as score,
        model,
        model_version,
        experiment,
        arm,
        {{ utc_timestamp('served_at') }} as served_at
    from {{ live_rows('exposures') }} as raw
)

select
    exposure_seq, request_id, user_id, item_id, position, score, model, model_version, experiment, arm, served_at,
    case when user_id is null then 'missing_or_invalid_user_id' end as quarantine_reason,
    case when user_id is null then raw_user_id end as quarantine_value
from typed
