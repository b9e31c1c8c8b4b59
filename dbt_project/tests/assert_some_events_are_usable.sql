-- fails when no event survives staging and the reference checks: every model downstream would be
-- empty. marts.quarantined_rows holds why, and the main job's summary names the fix (e.g. set
-- event_time_min when every event is event_at_out_of_range).
{{ config(meta={'dagster': {'ref': {'name': 'int_events_referenced'}}}) }}
select count(*) as n_events_referenced
from {{ ref('int_events_referenced') }}
having coalesce(sum(case when quarantine_reason is null then 1 else 0 end), 0) = 0
