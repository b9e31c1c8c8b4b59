{{ config(materialized='table') }}
{{ entity_days_aggregated('item') }}
