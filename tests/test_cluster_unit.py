"""Unit tier of runs on a Dask cluster (trialsim/cluster.py and the
``scheduler`` of simulate, replay, `trialsim run` and `trialsim report`).

One in-process LocalCluster (two workers of one thread, processes=False)
serves every test here. A run on it gives the local run's per-replicate
table exactly, column by column, dtypes and order included, for the
conventional and the ctDNA design, with interim looks and a timeline; only a
window of chunks is ever in flight; chunks gathered in any order give their
concatenation and are not kept; the command line's `--scheduler` gives
the local output byte for byte and runs every simulation of a report there.
Skipped, with the reason, where Dask distributed is not installed (the test
extra has it).
"""

from __future__ import annotations

import copy
import gc
import json
import weakref

import numpy as np
import pytest
from typer.testing import CliRunner

from tests.conftest import CONVENTIONAL, CTDNA, SMALL, strip_created, write
import trialsim
from trialsim import engine
from trialsim.cli import app

distributed = pytest.importorskip("distributed", reason="Dask distributed is not installed "
                                  "(pip install 'trialsim[dask]'; the test extra has it)")

from trialsim.cluster import Gathered, SchedulerError, connect, run_windowed  # noqa: E402 - after the skip

runner = CliRunner()
LOOKS = CONVENTIONAL.replace("sided: 1}", "sided: 1, looks: [0.5], spending: obrien_fleming}")


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as c:
        yield c


@pytest.fixture(scope="module")
def client(cluster):
    with distributed.Client(cluster) as c:
        yield c


def assert_same_result(a, b):
    """Two SimulationResults with the same per-replicate table (columns, order,
    dtypes, values), interim looks, timeline and counts by visit."""
    assert list(a.table) == list(b.table)
    for k in a.table:
        x, y = np.asarray(a.table[k]), np.asarray(b.table[k])
        assert x.dtype == y.dtype and x.shape == y.shape, k
        assert np.array_equal(x, y, equal_nan=x.dtype.kind == "f"), k
    for name in ("looks", "timeline", "by_visit"):
        x, y = getattr(a, name), getattr(b, name)
        assert (x is None) == (y is None), name
        if x is not None:
            assert list(x) == list(y), name
            for k in x:
                assert x[k].dtype == y[k].dtype and np.array_equal(x[k], y[k], equal_nan=x[k].dtype.kind == "f"), \
                    (name, k)
    assert strip_created(a.summary()) == strip_created(b.summary())


@pytest.mark.parametrize("text,replicates,timeline", [(CONVENTIONAL, 40, True), (CTDNA, 24, False),
                                                      (LOOKS, 30, False)], ids=["conventional", "ctdna", "looks"])
def test_unit_a_cluster_run_equals_the_local_run(tmp_path, cluster, text, replicates, timeline):
    """Small chunks, each copied into the run's arrays as it finishes:
    gathering changes no number. (The rows of interim looks come chunk by
    chunk, look by look, in a local run too, so the local run here has the
    same chunks.)"""
    sc = trialsim.load_scenario(write(tmp_path, text))
    local = trialsim.simulate(sc, replicates=replicates, seed=11, workers=1, chunk_size=3, timeline=timeline)
    seen = []
    remote = trialsim.simulate(sc, replicates=replicates, seed=11, scheduler=cluster.scheduler_address,
                               chunk_size=3, timeline=timeline, progress=lambda d, t: seen.append((d, t)))
    assert_same_result(local, remote)
    assert [t for _, t in seen] == [replicates] * -(-replicates // 3)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen) and seen[-1][0] == replicates


def test_unit_a_client_replay_and_chosen_replicates_on_a_cluster(ctdna, client):
    """A distributed.Client works as the scheduler (and is left open); replay and
    replicate_index go there too, with the local results."""
    local = trialsim.simulate(ctdna, replicates=12, seed=3, workers=1)
    remote = trialsim.replay(local.provenance, scheduler=client)
    assert_same_result(local, remote)
    some = trialsim.simulate(ctdna, replicates=12, seed=3, replicate_index=[7, 2, 9], scheduler=client)
    alone = trialsim.simulate(ctdna, replicates=12, seed=3, replicate_index=[7, 2, 9], workers=1)
    assert_same_result(alone, some)
    assert client.status == "running"


def test_unit_only_a_window_of_calls_is_in_flight(client, monkeypatch):
    """run_windowed submits the next call only as one finishes, yields every
    result once, and cancels the calls in flight when closed early."""
    submitted = []
    real = client.submit

    def spy(*args, **kwargs):
        fut = real(*args, **kwargs)
        submitted.append(fut)
        return fut

    monkeypatch.setattr(client, "submit", spy)
    got = []
    for i, value in run_windowed(client, pow, [(k, 2) for k in range(25)], window=4):
        assert len(submitted) - len(got) - 1 <= 4      # in flight, besides the result just delivered
        got.append((i, value))
    assert sorted(got) == [(k, k * k) for k in range(25)]

    submitted.clear()
    gen = run_windowed(client, _slow_square, [(k,) for k in range(20)], window=3)
    next(gen)
    gen.close()
    assert len(submitted) <= 4
    assert all(f.status in ("finished", "cancelled") for f in submitted)
    assert any(f.status == "cancelled" for f in submitted)


def _slow_square(k: int) -> int:
    import time  # deferred: only this test's task on the cluster sleeps

    time.sleep(0.5 if k else 0.0)
    return k * k


def test_unit_bad_schedulers_raise_scheduler_error(monkeypatch):
    monkeypatch.setattr("trialsim.cluster.CONNECT_TIMEOUT", "0.5s")
    for address, needle in (("tcp://127.0.0.1:1", "cannot connect"), ("foo://bar", "cannot connect"),
                            (" ", "is empty")):
        with pytest.raises(SchedulerError, match=needle):
            connect(address)
    with pytest.raises(TypeError, match="scheduler must be an address"):
        connect(8786)


def test_unit_cli_run_with_scheduler_gives_the_local_output(tmp_path, cluster):
    path = write(tmp_path, CTDNA)
    base = ["run", str(path), "-n", "10", "--seed", "4"]
    local = runner.invoke(app, base + ["-w", "1", "-f", "json", "--out", str(tmp_path / "a")])
    remote = runner.invoke(app, base + ["--scheduler", cluster.scheduler_address, "-f", "json",
                                        "--out", str(tmp_path / "b")])
    assert local.exit_code == 0 and remote.exit_code == 0, remote.output
    assert strip_created(json.loads(local.stdout)) == strip_created(json.loads(remote.stdout))
    for name in ("replicates.csv", "by_visit.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_unit_cli_report_runs_every_simulation_on_the_scheduler(tmp_path, cluster, client):
    """The run, the power curves, the null and the sensitivity designs all run
    as tasks on the cluster, and the report's figures equal the local report's."""
    path = write(tmp_path, SMALL)
    args = ["report", str(path), "-n", "8", "--seed", "2", "--sensitivity-replicates", "4", "-f", "html"]
    local = runner.invoke(app, args + ["-w", "1", "--out", str(tmp_path / "a")])
    with distributed.get_task_stream(client) as stream:
        remote = runner.invoke(app, args + ["--scheduler", cluster.scheduler_address, "--out", str(tmp_path / "b")])
    assert local.exit_code == 0 and remote.exit_code == 0, remote.output
    assert local.stdout.replace(str(tmp_path / "a"), "") == remote.stdout.replace(str(tmp_path / "b"), "")
    ran = [t["key"].split("-")[0] for t in stream.data]
    assert ran.count("_run_chunk") >= 1      # the run itself
    assert ran.count("_run_task") >= 3       # power curves, null and sensitivity designs


def _chunk_outputs(rng: np.random.Generator, sizes: list[int]) -> list[dict]:
    """Chunk outputs of the engine's form: per-replicate columns (chunk 2's
    counts of a narrower dtype, its counts by visit of one visit), a timeline, counts by visit of varying width and
    interim looks of varying rows per replicate."""
    parts, start = [], 0
    for k, n in enumerate(sizes):
        width, looks = (1 if k == 2 else int(rng.integers(1, 5))), rng.integers(1, 4, n)
        parts.append({
            "replicate": np.arange(start, start + n),
            "events": rng.integers(0, 99, n).astype(np.int32 if k == 2 else np.int64),
            "z": rng.normal(size=n),
            "rejected": rng.random(n) < 0.5,
            "_timeline": {"screened": rng.integers(0, 9, (n, 6)), "events": rng.integers(0, 9, (n, 6))},
            "_by_visit": {"tests": rng.integers(1, 9, (n, width)), "positive": rng.integers(0, 2, (n, width))},
            "_looks": {"replicate": np.repeat(np.arange(start, start + n), looks),
                       "z": rng.normal(size=int(looks.sum()))},
        })
        start += n
    return parts


@pytest.mark.parametrize("capacity", [5, 10_000], ids=["looks-outgrow-capacity", "looks-trimmed"])
def test_unit_gathered_in_any_order_equals_the_concatenation(capacity):
    """Chunks placed in a shuffled order, the narrowest first (interim looks appended in order),
    give what engine._merge gives for the chunks in order: values, dtypes
    (the narrower chunk promoted), counts by visit padded with zeros to the
    widest chunk, and the keys in the first chunk's order."""
    rng = np.random.default_rng(20261203)
    sizes = [int(n) for n in rng.integers(1, 9, 12)]
    parts = _chunk_outputs(rng, sizes)
    expected = engine._merge(copy.deepcopy(parts))
    starts = np.cumsum([0] + sizes)
    gathered = Gathered(sum(sizes))
    for i in [2] + [i for i in rng.permutation(len(parts)) if i != 2]:    # the narrowest first
        gathered.place(int(starts[i]), {k: v for k, v in parts[i].items() if k != "_looks"})
    for part in parts:
        gathered.append("_looks", part["_looks"], capacity=capacity)
    got = gathered.result()
    assert set(got) == set(expected)
    assert [k for k in got if not k.startswith("_")] == [k for k in expected if not k.startswith("_")]
    assert got["events"].dtype == np.int64 and got["_by_visit"]["tests"].shape[1] == 4
    for key, value in expected.items():
        pairs = [(value, got[key])] if not isinstance(value, dict) else [(value[k], got[key][k]) for k in value]
        assert (not isinstance(value, dict)) or list(value) == list(got[key]), key
        for want, have in pairs:
            assert want.dtype == have.dtype and want.shape == have.shape and np.array_equal(want, have), key


def test_unit_gathered_keeps_no_chunk():
    """A placed or appended chunk's arrays are copied: once the caller drops
    them, nothing holds them (the client keeps the run's arrays once)."""
    parts = _chunk_outputs(np.random.default_rng(5), [4, 3])
    gathered = Gathered(7)
    refs = []
    for start, part in zip((0, 4), parts):
        refs += [weakref.ref(part["z"]), weakref.ref(part["_timeline"]["events"]),
                 weakref.ref(part["_by_visit"]["tests"]), weakref.ref(part["_looks"]["z"])]
        gathered.append("_looks", part.pop("_looks"), capacity=20)
        gathered.place(start, part)
    del parts, part
    gc.collect()
    assert all(r() is None for r in refs)
    assert gathered.result()["z"].shape == (7,)
