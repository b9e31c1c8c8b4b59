"""Offline evaluation: the protocol (train window -> test window, per slice, with intervals and paired
tests), the metric registry, uncertainty, the cold-start analysis and the oracle. Pure: frames and
arrays in, frames out; the results are stored by ``ml.warehouse.evaluation_store``."""
