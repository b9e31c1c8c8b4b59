"""One thread setting for every parallel library (ml.threads)."""

import faiss
import numba
import pytest
import torch
from threadpoolctl import threadpool_info

from dagster_defs.resources import RecsysResource
from ml import threads


def test_the_setting_reaches_every_library(monkeypatch):
    monkeypatch.setenv(threads.ENV, "1")
    assert threads.budget() == 1 and RecsysResource().threads == 1
    before = torch.get_num_threads()
    try:
        assert threads.apply() == 1
        assert torch.get_num_threads() == 1 and numba.get_num_threads() == 1 and faiss.omp_get_max_threads() == 1
        assert all(pool["num_threads"] == 1 for pool in threadpool_info())  # BLAS and OpenMP pools
    finally:
        threads.apply(before)


def test_default_and_bad_values(monkeypatch):
    monkeypatch.delenv(threads.ENV, raising=False)
    assert threads.budget() == threads.default_threads() >= 1
    for bad in ("0", "two", "-1"):
        monkeypatch.setenv(threads.ENV, bad)
        with pytest.raises(ValueError, match="RECSYS_THREADS must be a whole number of threads of at least 1"):
            threads.budget()
