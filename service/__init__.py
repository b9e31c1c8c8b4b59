"""FastAPI recommendation service over the materialized model artifacts."""
