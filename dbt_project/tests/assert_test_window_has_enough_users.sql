-- warns when the test window holds fewer users with interactions than var min_test_users: model
-- comparisons on so few users are noise. Widen the window (test_days, test_fraction) or use
-- split_strategy leave_last_k.
{{ config(severity='warn', meta={'dagster': {'ref': {'name': 'int_split_defined'}}}) }}
select split_strategy, n_test_users, min_test_users
from {{ ref('int_split_defined') }}
where n_test_users < min_test_users
