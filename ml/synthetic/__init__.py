"""Deterministic synthetic interaction data with a known ground truth (``generator``), its truth
(``truth``) and its files in the raw data contract (``files``)."""

from ml.synthetic.files import write_csv, write_parquet
from ml.synthetic.generator import FUNNEL, SAMPLE_GROUND_TRUTH, SEEDS_DIR, SyntheticConfig, generate
from ml.synthetic.truth import GroundTruth, SyntheticData

__all__ = [
    "FUNNEL",
    "SAMPLE_GROUND_TRUTH",
    "SEEDS_DIR",
    "GroundTruth",
    "SyntheticConfig",
    "SyntheticData",
    "generate",
    "write_csv",
    "write_parquet",
]
