"""Regenerate tests/golden/reference_results.json: the pinned JSON results of
the four reference scenarios (regression tier).

These values are not theory: they pin what trialsim produced for a fixed
seed, so that a change which is meant to leave behaviour alone (moving
code, renaming, merging duplicates) can be shown to leave every number
identical. Regenerate them only when a change is meant to alter results,
and say so in the commit.

    .venv/bin/python tools/regression/make_reference_results.py
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import trialsim

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ["ctdna_er_positive", "dtc_bone_marrow", "zest_like_tnbc", "conventional_logrank"]
REPLICATES = 120
SEED = 20261203


def reference_results() -> dict:
    out = {}
    for name in SCENARIOS:
        scenario = trialsim.load_scenario(ROOT / "scenarios" / f"{name}.yaml")
        result = trialsim.simulate(scenario, replicates=REPLICATES, seed=SEED, workers=1)
        summary = json.loads(result.to_json())
        summary.pop("provenance")     # versions and a timestamp: not results
        # One row per replicate, every column, as the CSV writer prints it.
        frame_csv = result.to_frame().to_csv(index=False, lineterminator="\n", float_format="%.17g")
        summary["frame_sha256"] = hashlib.sha256(frame_csv.encode()).hexdigest()
        out[name] = summary
    return out


if __name__ == "__main__":
    path = ROOT / "tests" / "golden" / "reference_results.json"
    payload = {"replicates": REPLICATES, "seed": SEED, "results": reference_results()}
    path.write_text(json.dumps(payload, indent=1, sort_keys=True) + "\n")
    print(f"wrote {path}")
