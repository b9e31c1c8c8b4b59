-- every exposure served inside an experiment, with what the user did with the item next: clicked (a
-- click, add_to_cart or purchase of the same item) and purchased, within attribution_window_minutes
-- after it was served. Both times are the service's clock (served_at, received_at): a caller's
-- event_at may be another clock (a simulation's). An exposure of a quarantined user id is left out.
with exposures as (
    select * from {{ ref('stg_live__exposures') }}
    where experiment is not null and quarantine_reason is null
),

events as (
    select user_id, item_id, event_type, received_at from {{ ref('stg_live__events') }}
    where event_type in ('click', 'add_to_cart', 'purchase')
)

select
    x.exposure_seq, x.request_id, x.experiment, x.arm, x.model, x.model_version, x.user_id, x.item_id,
    x.position, x.score, x.served_at,
    max(case when e.event_type is not null then 1 else 0 end) as clicked,
    max(case when e.event_type = 'purchase' then 1 else 0 end) as purchased
from exposures as x
left join events as e
    on e.user_id = x.user_id and e.item_id = x.item_id
    and e.received_at >= x.served_at
    and e.received_at < {{ dbt.dateadd('minute', var('attribution_window_minutes'), 'x.served_at') }}
group by
    x.exposure_seq, x.request_id, x.experiment, x.arm, x.model, x.model_version, x.user_id, x.item_id,
    x.position, x.score, x.served_at
