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
