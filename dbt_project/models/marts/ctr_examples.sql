-- impression-level CTR examples (label from int_impressions_labelled). Features are point in time
-- (macro ctr_features): each example joins the feature snapshot taken at the start of its block, built
-- only from events before it (test examples: before the split).
{{ contract_typed_start() }}
{{ ctr_features(ref('int_impressions_labelled')) }}
{{ contract_typed_end() }}
