-- impressions inside a CTR example block (int_snapshots_defined) with their label: clicked = a
-- click on the same user and item within attribution_window_minutes after the impression and
-- before the block ends
with clicks as (
    select user_id, item_id, event_at as click_at
    from {{ ref('int_events_weighted') }}
    where event_type = 'click'
),

impressions as (
    select
        e.event_id, e.user_id, e.item_id, e.event_at as impression_at, e.event_hour, e.is_weekend,
        s.split, s.snapshot_at,
        max(case when c.click_at is not null then 1 else 0 end) as clicked
    from {{ ref('int_events_weighted') }} as e
    inner join {{ ref('int_snapshots_defined') }} as s
        on e.event_at >= s.snapshot_at and e.event_at < s.window_end_at
    left join clicks as c
        on c.user_id = e.user_id
        and c.item_id = e.item_id
        and c.click_at >= e.event_at
        and c.click_at < {{ dbt.dateadd('minute', var('attribution_window_minutes'), 'e.event_at') }}
        and c.click_at < s.window_end_at
    where e.event_type = 'impression'
    group by e.event_id, e.user_id, e.item_id, e.event_at, e.event_hour, e.is_weekend, s.split, s.snapshot_at
)

select * from impressions
