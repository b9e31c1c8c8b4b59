"""The warehouse, from Python: engine connections (DuckDB, PostgreSQL, Spark), every query against
the dbt marts (``marts``), the evaluation results (``evaluation_store``) and the run summary. The only
part of ``ml`` that opens a connection; it hands frames and arrays to the pure side."""
