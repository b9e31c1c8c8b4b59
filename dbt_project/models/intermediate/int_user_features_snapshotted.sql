{{ config(materialized='table') }}
{{ entity_features_snapshotted('user') }}
