-- fails when no user has an event before the validation window (e.g. data spanning fewer days than
-- test_days + validation_days): nothing can be trained, and the features fitted on the train window
-- would be empty. Stops the models after int_split_defined with what to change.
{{ config(meta={'dagster': {'ref': {'name': 'int_split_defined'}}}) }}
select split_strategy, min_event_at, valid_at, split_at, end_at, n_train_users
from {{ ref('int_split_defined') }}
where n_train_users = 0
