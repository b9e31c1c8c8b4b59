{{ entity_features_snapshotted('item') }}
