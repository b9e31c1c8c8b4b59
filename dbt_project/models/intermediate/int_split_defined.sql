-- one row: the strategy, the global boundaries and how many users each window holds (var
-- split_strategy, macros/splits.sql). For the time strategies valid_at and split_at are every
-- user's; for leave_last_k they are the earliest of any user's, so that features computed as of
-- split_at never see a test event. end_at is exclusive. min_test_users is the var the split's
-- check compares n_test_users with.
with bounds as (
    {{ event_time_bounds(ref('int_events_referenced')) }}
),

held_out as (
    select min(valid_at) as valid_at, min(split_at) as split_at
    from {{ ref('int_user_splits_defined') }}
),

users_per_window as (
    select
        count(distinct case when split = 'train' then user_id end) as n_train_users,
        count(distinct case when split = 'validation' then user_id end) as n_validation_users,
        count(distinct case when split = 'test' then user_id end) as n_test_users
    from {{ ref('int_events_weighted') }}
    where weight > 0
)

select
    '{{ split_strategy() }}' as split_strategy,
    b.min_event_at,
    b.end_at,
    coalesce(h.valid_at, b.end_at) as valid_at,
    coalesce(h.split_at, b.end_at) as split_at,
    n.n_train_users,
    n.n_validation_users,
    n.n_test_users,
    {{ var('min_test_users') }} as min_test_users
from bounds as b
cross join held_out as h
cross join users_per_window as n
