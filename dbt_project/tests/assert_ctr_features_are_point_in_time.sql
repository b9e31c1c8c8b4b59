{{ config(meta={'dagster': {'ref': {'name': 'ctr_examples'}}}) }}
-- Fails for any CTR example whose features saw an event at or after its snapshot, any test example
-- whose snapshot is after the split, or any example that precedes its snapshot.
select e.event_id, e.split, e.snapshot_at, e.user_last_event_at, e.item_last_event_at
from {{ ref('ctr_examples') }} as e
cross join {{ ref('int_split_defined') }} as s
where e.user_last_event_at >= e.snapshot_at
   or e.item_last_event_at >= e.snapshot_at
   or e.impression_at < e.snapshot_at
   or (e.split = 'test' and e.snapshot_at > s.split_at)
   or (e.split = 'train' and e.impression_at >= s.split_at)
