"""Unit tier of the public API (trialsim/__init__.py): what a statistician
imports. Every public name is documented and shows its true signature, even
though the heavy parts load on first use; ``import trialsim`` stays light."""
from __future__ import annotations

import inspect
import subprocess
import sys

import pytest
import yaml

import trialsim
from tests.conftest import CONVENTIONAL, ROOT, write


def test_unit_star_import_gives_every_public_name():
    namespace: dict = {}
    exec("from trialsim import *", namespace)
    assert set(trialsim.__all__) <= set(namespace)
    assert "simulate" in namespace and callable(namespace["simulate"])


@pytest.mark.parametrize("name", sorted(trialsim.__all__))
def test_unit_every_public_name_has_a_docstring(name):
    obj = getattr(trialsim, name)
    if isinstance(obj, int):       # FORMAT_VERSION: a constant, documented in the package docstring
        assert f"``{name}``" in trialsim.__doc__
        return
    assert inspect.getdoc(obj), f"trialsim.{name} has no docstring"


def test_unit_package_docstring_shows_the_entry_points():
    for name in ("load_scenario", "simulate", "replay", "sweep", "find_sample_size"):
        assert f"trialsim.{name}(" in trialsim.__doc__


@pytest.mark.parametrize("name,first,keywords", [
    ("simulate", "scenario", {"replicates", "seed", "workers", "chunk_size", "replicate_index", "progress", "timeline",
                              "scheduler"}),
    ("replay", "provenance", {"workers", "chunk_size", "progress", "timeline", "scheduler"}),
    ("find_sample_size", "scenario", {"target_power", "solve", "replicates", "seed", "workers", "scheduler"}),
    ("sweep", "scenario", {"replicates", "seed", "workers", "scheduler", "out", "resume"}),
])
def test_unit_entry_points_show_their_true_parameters(name, first, keywords):
    """help(trialsim.simulate) shows the parameters, keyword-only after the
    first (``vary`` of sweep may also be given by position)."""
    params = inspect.signature(getattr(trialsim, name)).parameters
    names = list(params)
    assert names[0] == first
    assert keywords <= set(names)
    assert all(params[k].kind is inspect.Parameter.KEYWORD_ONLY for k in keywords)
    assert not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())


def test_unit_help_shows_the_real_function():
    assert trialsim.simulate.__module__ == "trialsim.engine"
    assert trialsim.sweep.__module__.startswith("trialsim.sweeps")
    assert "replicates" in trialsim.simulate.__doc__


def test_unit_unknown_attribute_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'simulator'"):
        trialsim.simulator  # noqa: B018


def test_unit_import_trialsim_stays_light():
    """The engine (simpy, scipy), pandas and matplotlib load on first use, not
    on ``import trialsim``: a script that only validates starts fast."""
    code = ("import sys, trialsim; heavy = [m for m in ('trialsim.engine', 'simpy', 'pandas', 'matplotlib',"
            " 'trialsim.sweeps') if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"


def test_unit_load_scenario_takes_a_path_or_a_mapping(tmp_path):
    path = write(tmp_path, CONVENTIONAL)
    from_file = trialsim.load_scenario(path)
    from_str = trialsim.load_scenario(str(path))
    from_mapping = trialsim.load_scenario(yaml.safe_load(CONVENTIONAL))
    assert from_file == from_str == from_mapping
    assert trialsim.load_scenario(from_file.to_dict()) == from_file


def test_unit_load_scenario_mapping_errors_name_the_field():
    data = yaml.safe_load(CONVENTIONAL)
    data["trial"]["enrollment"] = -1
    with pytest.raises(trialsim.ScenarioError, match="trial.enrollment"):
        trialsim.load_scenario(data)


def test_unit_load_scenario_refuses_what_is_neither_path_nor_mapping():
    with pytest.raises(TypeError, match="path to a YAML file or a mapping"):
        trialsim.load_scenario(42)


# --------------------------------------------------------------------------
# replay() and simulate(): each bad argument named


@pytest.fixture(scope="module")
def small_provenance(tmp_path_factory):
    sc = trialsim.load_scenario(write(tmp_path_factory.mktemp("replay"), CONVENTIONAL))
    return trialsim.simulate(sc, replicates=2, seed=1, workers=1).provenance


def _with(prov, **changes):
    out = dict(prov)
    out.update(changes)
    return out


@pytest.mark.parametrize("call, error, needle", [
    (lambda p: trialsim.replay(p, chunk_size=-1, workers=1), ValueError, "chunk_size must be at least 1, got -1"),
    (lambda p: trialsim.replay(p, chunk_size=0, workers=1), ValueError, "chunk_size must be at least 1, got 0"),
    (lambda p: trialsim.replay(p, chunk_size=1.5, workers=1), TypeError, "chunk_size must be a whole number"),
    (lambda p: trialsim.replay(p, workers=0), ValueError, "workers must be at least 1"),
    (lambda p: trialsim.replay(None), TypeError, "replay() takes a run's provenance"),
    (lambda p: trialsim.replay("x"), TypeError, "replay() takes a run's provenance"),
    (lambda p: trialsim.replay([]), TypeError, "replay() takes a run's provenance"),
    (lambda p: trialsim.replay({}), ValueError, "provenance lacks 'scenario', 'seed', 'replicates'"),
    (lambda p: trialsim.replay(_with(p, seed=1.5)), TypeError, "provenance['seed']: seed must be a whole number"),
    (lambda p: trialsim.replay(_with(p, seed=-1)), ValueError, "provenance['seed']: seed must be at least 0"),
    (lambda p: trialsim.replay(_with(p, replicates="2")), TypeError, "provenance['replicates']: replicates must be a whole"),
    (lambda p: trialsim.replay(_with(p, replicates=10 ** 23), chunk_size=0), ValueError,
     "provenance['replicates']: replicates 100,000,000,000,000,000,000,000: at most 1,000,000"),
    (lambda p: trialsim.simulate(None), TypeError, "simulate() takes a Scenario"),
])
def test_unit_replay_names_each_bad_argument(small_provenance, call, error, needle):
    with pytest.raises(error) as info:
        call(small_provenance)
    assert needle in str(info.value), str(info.value)


def test_unit_replay_accepts_numpy_integers_in_the_provenance(small_provenance):
    import numpy as np

    prov = _with(small_provenance, seed=np.int64(1), replicates=np.int32(2))
    again = trialsim.replay(prov, workers=1, chunk_size=np.int64(1))
    assert again.provenance["seed"] == 1 and type(again.provenance["replicates"]) is int
    assert again.to_frame().equals(trialsim.replay(small_provenance, workers=1).to_frame())
