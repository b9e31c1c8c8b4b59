-- fails when no event survives staging and the reference checks: every model downstream would be
-- empty. It reads marts.raw_row_counts too, so that dbt builds the counts and the quarantine (which
-- say why; the main job's summary names the fix, e.g. set event_time_min when every event is
-- event_at_out_of_range) before this test stops the models after int_events_referenced.
{{ config(meta={'dagster': {'ref': {'name': 'int_events_referenced'}}}) }}
select c.rows_in, c.rows_quarantined
from {{ ref('raw_row_counts') }} as c
where c.source_table = 'events'
    and not exists (select 1 from {{ ref('int_events_referenced') }} where quarantine_reason is null)
