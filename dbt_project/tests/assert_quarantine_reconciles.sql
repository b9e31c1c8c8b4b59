-- Fails when, for any raw table, rows in != rows staged + rows quarantined (marts.raw_row_counts), or
-- staging did not read every raw row: the rows of the raw relation plus, when raw files are read, the
-- lines the CSV reader could not split (quarantined as malformed_line).
select source_table, rows_in, rows_staged, rows_quarantined, raw_rows
from {{ ref('raw_row_counts') }}
where rows_in != rows_staged + rows_quarantined or rows_in != raw_rows
