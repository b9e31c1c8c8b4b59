select user_id, signup_at, country, segment, age_band
from {{ ref('stg_shop__users_validated') }}
where quarantine_reason is null
