"""A simulated world that drives the running service through its public API (``recsys-simulate``)."""
