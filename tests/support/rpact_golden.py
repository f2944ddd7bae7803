"""The rpact golden file (tests/golden/rpact_boundaries.json), its argument
translations, shared by the design tests.
"""

from __future__ import annotations

import json
from pathlib import Path

GOLDEN = json.loads((Path(__file__).resolve().parents[1] / "golden" / "rpact_boundaries.json").read_text())


P_TOL = 1e-7          # probabilities from the recursion


def _accrual_args(i):
    at = i["accrual_time"]
    if not i.get("accrual_intensity"):
        return {"accrual_time": at[-1]}
    rates = i["accrual_intensity"]
    rates = rates if isinstance(rates, list) else [rates]
    pieces = [(at[j + 1] - at[j], rates[j]) for j in range(len(at) - 1)]
    if len(rates) == len(at):          # rpact: the last interval is open-ended
        pieces.append((None, rates[-1]))
    return {"accrual": pieces}


def _dropout(i):
    return {"control": i["dropout_hazard2"], "treatment": i["dropout_hazard1"]}
