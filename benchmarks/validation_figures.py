"""Print the validation figures quoted in the README (markdown tables).

Each line is a simulated figure beside its reference (rpact's simulation,
Schoenfeld's formula, a closed form), with the gap in Monte Carlo standard
errors. Usage: .venv/bin/python benchmarks/validation_figures.py
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.test_engine_peer import GOLDEN, scenario_for  # noqa: E402
from tests.conftest import SCREEN_ONCE  # noqa: E402
from tests.test_engine_theory import null_version  # noqa: E402
from trialsim import Scenario, simulate  # noqa: E402
from trialsim.design import schoenfeld_power  # noqa: E402
from trialsim.screening import expected_yield, positive_predictive_value  # noqa: E402

import yaml  # noqa: E402


def main():
    print("| design | trialsim power (10,000) | rpact simulated (10,000) | gap / SE | Schoenfeld |")
    print("| --- | --- | --- | --- | --- |")
    for d in GOLDEN:
        r = simulate(scenario_for(d), replicates=10_000, seed=77, workers=2)
        th = d["simulation"]
        se = math.sqrt(r.power_mcse ** 2 + th["mc_se"] ** 2)
        print(f"| {d['id']} ({d['description']}) | {r.power:.4f} ± {r.power_mcse:.4f} | "
              f"{th['power']:.4f} ± {th['mc_se']:.4f} | {(r.power - th['power']) / se:+.2f} | "
              f"{d['analytic']['power']:.4f} |")
    print()
    print("| reference scenario, effects off | type I error (4,000) | alpha | gap / SE |")
    print("| --- | --- | --- | --- |")
    for name in ("ctdna_er_positive", "dtc_bone_marrow", "zest_like_tnbc", "conventional_logrank"):
        sc = null_version(ROOT / "scenarios" / f"{name}.yaml")
        r = simulate(sc, replicates=4000, seed=2026_11_22, workers=2)
        a = sc.trial.analysis.alpha
        print(f"| {name} | {r.power:.4f} | {a} | {(r.power - a) / math.sqrt(a * (1 - a) / 4000):+.2f} |")
    print()
    sc = Scenario.from_dict(yaml.safe_load(SCREEN_ONCE))
    t = simulate(sc, replicates=150, seed=105, workers=2).table
    n = t["screened"].sum()
    y = expected_yield(0.2, 0.8, 0.95, 0.1)
    ppv = positive_predictive_value(0.2, 0.8, 0.95)
    pos = t["randomized"].sum()
    print("| screening check (p 0.2, Se 0.8, Sp 0.95, failure 0.1) | simulated | closed form | gap / SE |")
    print("| --- | --- | --- | --- |")
    print(f"| yield per survivor ({n:,} screened) | {t['test_positive'].sum() / n:.5f} | {y:.5f} | "
          f"{(t['test_positive'].sum() / n - y) / math.sqrt(y * (1 - y) / n):+.2f} |")
    print(f"| share of positives truly MRD-positive (PPV) | {t['truly_mrd_positive'].sum() / pos:.4f} | {ppv:.4f} | "
          f"{(t['truly_mrd_positive'].sum() / pos - ppv) / math.sqrt(ppv * (1 - ppv) / pos):+.2f} |")


if __name__ == "__main__":
    main()
