{{ entity_days_aggregated('user') }}
