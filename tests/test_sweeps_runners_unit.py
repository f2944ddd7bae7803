"""Where chunks run (trialsim/sweeps/runners.py): worker processes or Dask.

Unit tier: results do not depend on the number of workers, and a Dask
cluster gives what the local run gives, for a sweep and a search.
"""

from __future__ import annotations

import pandas as pd
import pytest

import trialsim
from trialsim.sweeps import find_sample_size


def test_unit_results_do_not_depend_on_the_number_of_workers(small):
    vary = {"arms.treatment.hazard_ratio": [0.6, 0.7, 0.8]}
    one = trialsim.sweep(small, vary, replicates=150, seed=2, workers=1)
    two = trialsim.sweep(small, vary, replicates=150, seed=2, workers=2)
    pd.testing.assert_frame_equal(one, two)


def test_unit_dask_local_cluster_equals_the_local_run(small):
    distributed = pytest.importorskip("distributed")
    vary = {"arms.treatment.hazard_ratio": [0.6, 0.8]}
    local = trialsim.sweep(small, vary, replicates=80, seed=4, workers=1)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        on_dask = trialsim.sweep(small, vary, replicates=80, seed=4, scheduler=cluster.scheduler_address)
        with distributed.Client(cluster) as client:
            size_dask = find_sample_size(small, solve="trial.analysis.events", replicates=300, seed=4,
                                         scheduler=client)
    pd.testing.assert_frame_equal(local, on_dask)
    size_local = find_sample_size(small, solve="trial.analysis.events", replicates=300, seed=4, workers=1)
    assert size_local.to_dict()["trace"] == size_dask.to_dict()["trace"]
    assert size_local.value == size_dask.value
