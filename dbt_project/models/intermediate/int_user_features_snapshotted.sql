{{ entity_features_snapshotted('user') }}
