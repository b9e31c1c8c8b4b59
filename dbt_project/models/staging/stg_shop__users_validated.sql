{{ depends_on_seed('raw_users') }}
-- every raw user row with its quarantine reason (null = valid); staged and quarantined views split it
with typed as (
    select
        {{ try_cast_to('user_id', dbt.type_bigint()) }} as user_id,
        {{ try_cast_to('signup_at', dbt.type_timestamp()) }} as signup_at,
        cast(country as {{ dbt.type_string() }}) as country,
        cast(segment as {{ dbt.type_string() }}) as segment,
        cast(age_band as {{ dbt.type_string() }}) as age_band,
        cast(user_id as {{ dbt.type_string() }}) as raw_user_id,
        cast(signup_at as {{ dbt.type_string() }}) as raw_signup_at
    from {{ source('shop', 'users') }}
),

ranked as (
    select
        *,
        row_number() over (partition by user_id order by signup_at, country, segment, age_band) as id_rank
    from typed
)

select
    user_id, signup_at, country, segment, age_band, raw_user_id, raw_signup_at,
    case
        when user_id is null then 'missing_or_invalid_user_id'
        when signup_at is null and raw_signup_at is not null then 'invalid_signup_at'
        when id_rank > 1 then 'duplicate_user_id'
    end as quarantine_reason
from ranked
