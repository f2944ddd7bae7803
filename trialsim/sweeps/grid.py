"""The grid of a sweep: every combination of the varied values, each a scenario.

Each grid point is re-validated as a whole scenario, because a value that is
fine on its own can make the design inconsistent (an enrolment below the
events target); the message then names the ``--vary`` to blame and the
field, so that the user knows which value to change.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Sequence

from trialsim.limits import SizeLimitError, check_grid_points, check_size, check_work
from trialsim.scenario import Scenario, ScenarioError
from trialsim.sweeps.errors import SweepError
from trialsim.sweeps.paths import Vary, set_path


@dataclass(frozen=True)
class GridPoint:
    index: int
    values: dict            # {path: value}
    scenario: Scenario


def build_grid(base: Scenario, varies: Sequence[Vary]) -> list[GridPoint]:
    """Every combination of the varied values (the first --vary varies
    slowest), each re-validated as a scenario. A bad value raises SweepError
    naming the --vary and the field."""
    points_count = math.prod(len(v.values) for v in varies)
    try:
        check_grid_points(points_count)
    except SizeLimitError as exc:
        sizes = " x ".join(f"{len(v.values):,}" for v in varies)
        raise SweepError(f"{exc.problems[0][2]} ({sizes} values)") from None
    data = base.to_dict()
    points = []
    for i, combo in enumerate(itertools.product(*[v.values for v in varies])):
        d = data
        for v, x in zip(varies, combo):
            try:
                d = set_path(d, v.keys, x)
            except SweepError as exc:
                raise SweepError(f"--vary {v.text}: {exc}") from None
        try:
            sc = Scenario.from_dict(d)
        except ScenarioError as exc:
            raise SweepError(_grid_message(varies, combo, exc)) from None
        points.append(GridPoint(i, {v.path: x for v, x in zip(varies, combo)}, sc))
    return points


def _grid_message(varies, combo, exc: ScenarioError) -> str:
    path, _, message = exc.problems[0]
    # Blame the --vary whose path the problem is under, else the last one (the
    # value that made the scenario inconsistent, e.g. enrollment below events).
    blame = next((v for v in varies if path == v.path or path.startswith(v.path + ".")), None)
    if blame is None:
        blame = next((v for v in varies if v.path.startswith(path + ".") or v.path == path), varies[-1])
    at = ", ".join(f"{v.path}={x!r}" for v, x in zip(varies, combo))
    field_ = f"{path}: " if path else ""
    return f"--vary {blame.text}: at {at}: {field_}{message}"



def _shown(x) -> str:
    """A grid value for a message: a huge whole number in short form (1e+308, not 309 digits)."""
    if isinstance(x, int) and not isinstance(x, bool) and abs(x) >= 10 ** 15:
        return f"{float(x):.3g}"
    return repr(x)


def check_grid_size(grid: Sequence[GridPoint], replicates: int, *, what: str = "sweep") -> float:
    """Refuse a grid whose designs, or whose total work, exceed the limits of
    :mod:`trialsim.limits` (SweepError naming the grid point); return the work."""
    total = 0.0
    for g in grid:
        try:
            total += check_size(g.scenario, replicates, what=what).work
        except SizeLimitError as exc:
            at = ", ".join(f"{p}={_shown(x)}" for p, x in g.values.items())
            path, _, message = exc.problems[0]
            if not at:
                raise SweepError(message) from None
            # name the --vary the problem is under (else the last): the option to change
            varied = list(g.values)
            blame = next((p for p in varied if path == p or path.startswith(p + ".") or p.startswith(path + ".")),
                         varied[-1])
            raise SweepError(f"--vary {blame}: at {at}: {path + ': ' if path else ''}{message}") from None
    try:
        check_work(total, what=what, hint="fewer replicates or a coarser grid")
    except SizeLimitError as exc:
        raise SweepError(exc.problems[0][2]) from None
    return total
