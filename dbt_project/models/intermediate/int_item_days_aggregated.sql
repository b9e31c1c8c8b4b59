{{ entity_days_aggregated('item') }}
