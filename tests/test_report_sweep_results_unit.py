"""Unit tier: trialsim.report.sweep_results, power curves from a sweep's results and its refusals."""

from __future__ import annotations

import pytest

from tests.conftest import CONVENTIONAL, write
from tests.support.report_html import _sweep_json
from trialsim import load_scenario
from trialsim.report import ReportError, ScenarioFile, read_sweep


def test_unit_read_sweep_refuses_another_scenario(tmp_path):
    path = write(tmp_path, CONVENTIONAL)
    sf = ScenarioFile.read(path)
    rows = [{"trial.enrollment": n, "power": p, "power_mcse": 0.01, "replicates": 100}
            for n, p in ((300, 0.5), (500, 0.8))]
    bad_hash = _sweep_json(tmp_path, path, rows, {"scenario_sha256": "0" * 64})
    with pytest.raises(ReportError, match="another scenario"):
        read_sweep(bad_hash, sf)
    other = sf.scenario.to_dict()
    other["accrual"]["rate"] = 99.0
    with pytest.raises(ReportError, match="another scenario"):
        read_sweep(_sweep_json(tmp_path, path, rows, {"scenario": other}, "b.json"), sf)
    ok = _sweep_json(tmp_path, path, rows, {"scenario_sha256": sf.sha256}, "c.json")
    curves, info = read_sweep(ok, sf)
    assert info["vary"] == ["trial.enrollment"] and curves[0].power.tolist() == [0.5, 0.8]


def test_unit_read_sweep_reads_what_trialsim_sweep_writes(tmp_path):
    from trialsim.sweeps import run_sweep

    path = write(tmp_path, CONVENTIONAL)
    sc = load_scenario(path)
    res = run_sweep(sc, {"arms.treatment.hazard_ratio": [0.6, 0.8, 1.0]}, replicates=20, seed=4, workers=1)
    out = tmp_path / "sweep"
    res.write(out)
    sf = ScenarioFile.read(path)
    for target in (out, out / "sweep.json", out / "sweep.csv", out / "sweep.parquet"):
        curves, info = read_sweep(target, sf)
        assert info["vary"] == ["arms.treatment.hazard_ratio"], target
        c = curves[0]
        assert c.x.tolist() == [0.6, 0.8, 1.0] and c.replicates.tolist() == [20, 20, 20]
        assert c.power.tolist() == [p["summary"]["power"] for p in res.points]
        assert c.columns["events"].tolist() == [p["summary"]["events"]["mean"] for p in res.points]
    other = write(tmp_path, CONVENTIONAL.replace("median: 24", "median: 30"), "other.yaml")
    with pytest.raises(ReportError, match="another scenario"):
        read_sweep(out, ScenarioFile.read(other))
    with pytest.raises(ReportError, match="another scenario"):
        read_sweep(out / "sweep.csv", ScenarioFile.read(other))   # its sweep.json tells


def test_unit_read_sweep_reads_csv_and_folders_and_refuses_nonsense(tmp_path):
    path = write(tmp_path, CONVENTIONAL)
    sf = ScenarioFile.read(path)
    folder = tmp_path / "sweep"
    folder.mkdir()
    (folder / "sweep.csv").write_text("arms.treatment.hazard_ratio,power,power_mcse\n0.8,0.4,0.02\n0.7,0.8,0.02\n")
    curves, info = read_sweep(folder, sf)
    assert curves[0].path == "arms.treatment.hazard_ratio" and info["rows"] == 2
    garbage = tmp_path / "x.json"
    garbage.write_text("{not json")
    with pytest.raises(ReportError, match="cannot be read"):
        read_sweep(garbage, sf)
    pq = tmp_path / "x.parquet"
    pq.write_bytes(b"not parquet")
    with pytest.raises(ReportError, match="cannot be read"):
        read_sweep(pq, sf)
    nopower = tmp_path / "np.csv"
    nopower.write_text("trial.enrollment,x\n1,2\n3,4\n")
    with pytest.raises(ReportError, match="no 'power' column"):
        read_sweep(nopower, sf)
    with pytest.raises(ReportError, match="no such file"):
        read_sweep(tmp_path / "missing.csv", sf)
