-- one row: how the data was cut into train, validation and test (var split_strategy), the boundaries
-- and the users in each window, for the Python side (ranker windows, provenance, the run summary)
{{ contract_typed_start() }}
select * from {{ ref('int_split_defined') }}
{{ contract_typed_end() }}
