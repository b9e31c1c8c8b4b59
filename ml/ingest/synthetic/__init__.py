"""Deterministic synthetic interaction data with a known ground truth (``generator``), its truth
(``truth``) and its files in the raw data contract (``files``)."""

from ml.ingest.synthetic.files import events_by_day, write_csv, write_parquet
from ml.ingest.synthetic.generator import FUNNEL, SAMPLE_GROUND_TRUTH, SEEDS_DIR, SyntheticConfig, generate
from ml.ingest.synthetic.truth import GroundTruth, SyntheticData

__all__ = [
    "FUNNEL",
    "SAMPLE_GROUND_TRUTH",
    "SEEDS_DIR",
    "GroundTruth",
    "SyntheticConfig",
    "SyntheticData",
    "events_by_day",
    "generate",
    "write_csv",
    "write_parquet",
]
