"""Worker counts follow the CPU affinity, not the machine's core count."""

import os
import shutil
import subprocess
import sys

import pytest

from trialsim.engine import default_workers
from trialsim.processes import usable_cores


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity"), reason="no CPU affinity on this system")
def test_unit_default_workers_are_the_cores_this_process_may_use():
    assert usable_cores() == default_workers() == len(os.sched_getaffinity(0))


@pytest.mark.skipif(shutil.which("taskset") is None, reason="taskset (util-linux) is not installed")
def test_unit_taskset_gives_one_worker():
    code = "from trialsim.engine import default_workers; print(default_workers())"
    out = subprocess.run(["taskset", "-c", "0", sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "1"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt: Linux only")
@pytest.mark.parametrize("keep", [False, True])
def test_unit_a_worker_keeps_the_memory_it_frees(keep):
    """On Linux (glibc) keep_freed_memory sets malloc's thresholds: an array of
    40 MB (above glibc's largest automatic threshold, 32 MB) freed and allocated
    again then reuses its pages, where by default every allocation maps and
    faults in fresh ones (numpy's huge pages off, so that pages are 4 kB)."""
    code = ("import resource, numpy as np\n"
            "from numpy._core.multiarray import _set_madvise_hugepage\n"
            "from trialsim.processes import keep_freed_memory\n"
            "_set_madvise_hugepage(False)\n"
            f"ok = keep_freed_memory() if {keep} else None\n"
            "np.ones(5 << 20).sum()\n"
            "before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt\n"
            "for _ in range(5):\n"
            "    np.ones(5 << 20).sum()\n"
            "print(ok, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    faults = int(out[1])
    if keep:
        assert out[0] == "True"
        assert faults < 1000
    else:       # 5 arrays of 40 MB mapped afresh: 51,200 faults of 4 kB
        assert faults > 40_000
