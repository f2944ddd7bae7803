"""The stochastic root search behind ``trialsim size``: where simulated power crosses a target.

Power estimated by simulation is noisy, so the search does not bisect on
raw estimates. It models the power curve as probit(power) = a + b sqrt(x)
(x: enrolment or events; exact for Schoenfeld's approximation, close
otherwise), starts from Schoenfeld's events at the scenario's hazard ratio
(or, for MRD trials, the effective hazard ratio of a pilot run), runs a
coarse stage at 1/16 of the replicates, then locates the crossing at full
replicates with secant steps on the model and bisection as a safeguard.
All values tried share the seed (common random numbers), so that the
differences between them are differences of design, not of luck.
docs/sweeps.md details the method.
"""

from __future__ import annotations

import copy
import math
from statistics import NormalDist
from typing import Any, Iterable

import numpy as np

from trialsim.design import schoenfeld_events
from trialsim.montecarlo import binomial_mcse
from trialsim.limits import SizeLimitError, check_size, estimate_size
from trialsim.scenario import Scenario, ScenarioError
from trialsim.sweeps.designs import Design, run_designs
from trialsim.sweeps.errors import SweepError, TargetNotReached

_N = NormalDist()
BUDGET_RUNS = 50         # default budget of a search: 50 times the replicates at the answer, in simulated trials
MAX_EVALUATIONS = 100    # evaluations (a value at a number of replicates) in one search
SEARCH_MAX_WORK = 2e9    # survivor-visits in one search (trialsim.limits; tens of minutes)
PILOT_REPLICATES = 250   # enough for the effective hazard ratio (SE of its log about 0.02 in the ctDNA scenario)


def _z(p: float, n: int) -> float:
    """Probit of an estimated power, kept finite (p clipped to [0.5/n, 1 - 0.5/n])."""
    eps = 0.5 / max(n, 1)
    return _N.inv_cdf(min(max(p, eps), 1 - eps))


def _stages(replicates: int) -> list[int]:
    """Replicates per stage of the search: a coarse stage at 1/16 of the final
    number (at least 250), then the final number."""
    first = replicates // 16
    return [first, replicates] if first >= 250 else [replicates]


class SizeSearch:
    """The stochastic root search of find_sample_size, for one base scenario."""

    def __init__(self, base: Scenario, *, solve: str, target: float, replicates: int, seed: int, runner,
                 on_chunk=None, budget: int | None = None):
        self.base, self.solve, self.target = base, solve, target
        # the search's budget: simulated trials, survivor-visits (trialsim.limits) and evaluations
        self.budget = budget if budget is not None else BUDGET_RUNS * replicates
        self.work = 0.0
        self.trials = 0
        self.R, self.seed, self.runner, self.on_chunk = replicates, seed, runner, on_chunk
        self.data = base.to_dict()
        self.N0 = base.trial.enrollment
        self.E0 = base.trial.analysis.events
        self.designs: dict[int, Design] = {}
        self.trace: list[dict] = []
        self.notes: list[str] = []
        self.b: float | None = None       # slope of probit(power) in sqrt(value)
        self.stage = 0
        if solve == "trial.analysis.events":
            self.x_base, self.x_min = self.E0, 2
        else:
            self.x_base, self.x_min = self.N0, 2
        self.x_max = 2_000_000

    # -- designs ------------------------------------------------------------

    def design_dict(self, x: int) -> dict:
        d = copy.deepcopy(self.data)
        if self.solve == "trial.enrollment":
            d["trial"]["enrollment"] = x
            if self.E0 is not None:   # the analysis keeps the scenario's ratio of events to enrolment
                d["trial"]["analysis"]["events"] = max(1, min(x, int(math.floor(x * self.E0 / self.N0 + 0.5))))
        else:
            d["trial"]["analysis"]["events"] = x
            if x > self.N0:           # more events than patients: enrol more, at the scenario's ratio
                d["trial"]["enrollment"] = int(math.ceil(x * self.N0 / self.E0))
        return d

    def design(self, x: int) -> Design:
        if x not in self.designs:
            try:
                sc = Scenario.from_dict(self.design_dict(x))
            except ScenarioError as exc:
                raise SweepError(f"{self.solve}={x}: {exc.render()}") from None
            try:
                check_size(sc, self.R, what="design")
            except SizeLimitError as exc:
                raise self.out_of_reach(f"{self.solve}={x:,} cannot be simulated: {exc.problems[0][2]}") from None
            self.designs[x] = Design(x, sc, self.seed)
        return self.designs[x]

    def evaluate(self, xs: Iterable[int], n: int) -> None:
        reqs = [(self.design(x), n) for x in dict.fromkeys(xs)]
        trials = sum(max(0, n - d.n) for d, _ in reqs)
        work = sum(max(0, n - d.n) * estimate_size(d.scenario, 1).work for d, _ in reqs)
        if (self.trials + trials > self.budget or self.work + work > SEARCH_MAX_WORK
                or len(self.trace) >= MAX_EVALUATIONS):
            raise self.out_of_reach(f"the search's budget is spent ({len(self.trace)} evaluations, "
                                    f"{self.trials:,} simulated trials; the budget is {self.budget:,} trials, "
                                    f"{MAX_EVALUATIONS} evaluations and {SEARCH_MAX_WORK:.3g} survivor-visits)")
        self.trials += trials
        self.work += work
        run_designs(self.runner, reqs, on_chunk=self.on_chunk)
        for d, _ in reqs:
            if any(t["value"] == d.key and t["replicates"] == n for t in self.trace):
                continue
            p = d.power(n)
            self.trace.append({"value": d.key, "replicates": n, "power": p,
                               "power_mcse": binomial_mcse(p, n), "stage": self.stage})

    def p(self, x: int, n: int) -> float:
        return self.designs[x].power(n)

    def evaluated(self, n: int) -> dict[int, float]:
        return {x: d.power(n) for x, d in self.designs.items() if d.n >= n}

    # -- analytic start -----------------------------------------------------

    def analytic_start(self, n_pilot: int) -> dict:
        sc = self.base
        an = sc.trial.analysis
        c, t = sc.arms[sc.control_arm], sc.arms[sc.treatment_arm]
        r = t.allocation / c.allocation
        conventional = (sc.mrd is None and sc.screening is None and c.eradication == 0 and t.eradication == 0
                        and c.delay == 0 and t.delay == 0
                        and (sc.trial.death == "censor" or sc.population.other_cause_death is None)
                        and sc.trial.endpoints[0] == "drfs")
        info: dict[str, Any] = {"allocation": r}
        pilot = None
        if conventional:
            hr = t.hazard_ratio / c.hazard_ratio
            info.update(hazard_ratio=hr, method="Schoenfeld events at the scenario's hazard ratio")
        else:
            # MRD trials dilute the effect (false positives, eradication, delay):
            # a pilot of the base design gives the hazard ratio the log-rank sees.
            self.evaluate([self.x_base], n_pilot)
            pilot = self.designs[self.x_base].result(n_pilot).summary()
            hr = pilot["hazard_ratio_geometric_mean"]
            info.update(hazard_ratio=hr, pilot_value=self.x_base, pilot_replicates=n_pilot,
                        pilot_power=pilot["power"],
                        method="Schoenfeld events at the effective hazard ratio (geometric mean of "
                               f"the estimates in a pilot of {n_pilot:,} trials at {self.solve}={self.x_base})")
        if hr is not None and hr >= 1 and an.sided == 1 and sc.trial.endpoints[0] == "drfs":
            raise TargetNotReached(f"the {'scenario' if conventional else 'effective'} hazard ratio is "
                                   f"{hr:.3f}, not below 1: no {self.solve} reaches power {self.target:g} "
                                   "for a one-sided test of benefit")
        if sc.trial.endpoints[0] != "drfs" or hr is None or hr <= 0 or hr == 1:
            info.update(value=None, events=None,
                        method="no analytic start (no hazard ratio for this endpoint, or none away from 1): "
                               "searched from the scenario's value")
            return info
        d_star = schoenfeld_events(hazard_ratio=hr, alpha=an.alpha, power=self.target, sided=an.sided,
                                   allocation=r)
        info["events"] = d_star
        drift = math.sqrt(r) / (1 + r) * abs(math.log(hr))
        if self.solve == "trial.analysis.events":
            x0, self.b = math.ceil(d_star), drift
        else:
            if pilot is not None:
                f = pilot["events"]["mean"] / self.N0 if pilot["events"] else None
            else:
                f = self.E0 / self.N0 if self.E0 is not None else None
            if not f:
                info.update(value=None, method=info["method"] + "; no events in the pilot: searched from "
                                                                "the scenario's value")
                return info
            info["events_per_patient"] = f
            x0, self.b = math.ceil(d_star / f), drift * math.sqrt(f)
        if x0 > self.x_max:
            raise TargetNotReached(f"no {self.solve} up to {self.x_max:,} reaches power {self.target:g}: "
                                   f"{info['method']} puts it near {x0:,.0f} (hazard ratio {hr:.4g}); change the "
                                   "design (a larger effect, a lower target power)")
        info["value"] = int(max(x0, self.x_min))
        return info

    def out_of_reach(self, why: str) -> TargetNotReached:
        """TargetNotReached saying why the search stopped and the best power reached so far."""
        best = max(self.trace, key=lambda t: (t["power"], t["replicates"]), default=None)
        reached = (f"; the highest power reached is {best['power']:.3f} at {self.solve}={best['value']:,} "
                   f"({best['replicates']:,} trials)" if best is not None else "")
        return TargetNotReached(f"power {self.target:g} not reached: {why}{reached}; ask for a lower target "
                                "power, fewer replicates, or a larger budget, or change the design")

    # -- the model: probit(power) = a + b sqrt(x) ----------------------------

    def slope(self) -> float | None:
        """b from a weighted fit over all evaluations when they span enough, else theory."""
        pts = [(x, d.power(d.n), d.n) for x, d in self.designs.items() if d.n > 0]
        pts = [(x, p, n) for x, p, n in pts if 0.02 < p < 0.98]
        if len(pts) >= 3:
            s = np.sqrt([x for x, _, _ in pts])
            zz = np.array([_z(p, n) for _, p, n in pts])
            w = np.array([n * _N.pdf(_z(p, n)) ** 2 / (p * (1 - p)) for _, p, n in pts])
            sm = np.sum(w * s) / w.sum()
            sxx = np.sum(w * (s - sm) ** 2)
            if sxx > 0:
                b = np.sum(w * (s - sm) * (zz - np.sum(w * zz) / w.sum())) / sxx
                se_b = 1 / math.sqrt(sxx)
                if b > 0 and se_b < 0.25 * b:
                    return float(b)
        return self.b

    def root(self, anchors: list[int], n: int) -> float | None:
        b = self.slope()
        if not b or b <= 0:
            return None
        zt = _N.inv_cdf(self.target)
        a = np.mean([_z(self.p(x, n), n) - b * math.sqrt(x) for x in anchors])
        v = (zt - a) / b
        return v * v if v > 0 else 0.0

    def dp_dx(self, x: float) -> float | None:
        b = self.slope()
        if not b:
            return None
        return _N.pdf(_N.inv_cdf(self.target)) * b / (2 * math.sqrt(max(x, 1)))

    # -- one stage ----------------------------------------------------------

    def bracket(self, n: int) -> tuple[int | None, int | None]:
        pts = self.evaluated(n)
        above = [x for x, p in pts.items() if p >= self.target]
        hi = min(above) if above else None
        below = [x for x, p in pts.items() if p < self.target and (hi is None or x < hi)]
        lo = max(below) if below else None
        return lo, hi

    def run_stage(self, n: int, anchor: int, final: bool) -> tuple[int | None, int]:
        """Locate the crossing at ``n`` replicates; return (lo, hi) with hi the
        smallest value reaching the target among those tried, lo below it."""
        self.evaluate([anchor], n)
        tol, margin = 1, 0.0
        if not final:
            # A coarse stage only needs the crossing to within its own noise, and
            # its expansion steps overshoot by half of it to bracket sooner. (At
            # the final stage, predictions anchored on points simulated with the
            # same replicates are accurate to about one unit: no overshoot.)
            slope = self.dp_dx(anchor)
            if slope:
                noise = math.sqrt(self.target * (1 - self.target) / n) / slope
                tol, margin = max(1, int(noise)), 0.5 * noise
        same_side, last_side, grow = 0, None, 1.0
        for _ in range(200):
            lo, hi = self.bracket(n)
            if lo is not None and hi is not None and hi - lo <= tol:
                return lo, hi
            if hi is not None and lo is None and hi <= self.x_min:
                return None, hi
            pts = self.evaluated(n)
            if hi is None:                          # everything tried is below the target: go up
                top = max(pts)
                if top >= self.x_max:
                    raise self.unreachable(n)
                self.check_plateau(n)
                r = self.root([top], n)
                c = math.ceil(r + margin) if r is not None and r > top else math.ceil(top * 1.5)
                c = top + max(1, int((c - top) * grow))
                c = min(max(c, top + 1), 2 * top + 1, self.x_max)
                side = "up"
            elif lo is None:                        # everything tried reaches it: go down
                bottom = min(pts)
                r = self.root([bottom], n)
                c = math.ceil(r - margin) if r is not None and r < bottom else bottom // 2
                c = bottom - max(1, int((bottom - c) * grow))
                c = max(c, (bottom + 1) // 2, self.x_min)
                if c >= bottom:
                    c = bottom - 1
                side = "down"
            else:                                    # a bracket: secant on the model, bisection as a safeguard
                r = self.root([lo, hi], n)
                c = math.ceil(r) if r is not None else (lo + hi) // 2
                if same_side >= 2 and hi - lo > 3:
                    c = (lo + hi) // 2
                c = min(max(c, lo + 1), hi - 1)
                side = None
            self.evaluate([c], n)
            outcome = self.p(c, n) >= self.target
            if side is not None:
                # Same side twice: the model is off (slope too steep); widen the steps.
                grow = grow * 2 if last_side == (side, outcome) else 1.0
                last_side = (side, outcome)
            else:
                same_side = same_side + 1 if last_side == ("in", outcome) else 1
                last_side = ("in", outcome)
        raise RuntimeError("the sample-size search did not converge")  # pragma: no cover

    def blend(self, x: int, analytic: dict, n: int) -> int:
        """...weighted with the analytic answer by their precisions: a coarse
        stage's crossing is uncertain by its Monte Carlo noise (about 10
        events at 625 replicates for a conventional design), Schoenfeld's
        formula at the scenario's hazard ratio by a few percent (more when
        the hazard ratio came from a pilot). A closer anchor saves
        evaluations at full replicates."""
        x0 = analytic.get("value")
        slope = self.dp_dx(x)
        if x0 is None or not slope:
            return x
        sd_stage = math.sqrt(self.target * (1 - self.target) / n) / slope
        sd_analytic = (0.03 if "pilot_value" not in analytic else 0.15) * x0
        w = sd_analytic ** -2 / (sd_analytic ** -2 + sd_stage ** -2)
        return max(self.x_min, int(round(w * x0 + (1 - w) * x)))

    def check_plateau(self, n: int) -> None:
        pts = sorted(self.evaluated(n).items())
        if len(pts) >= 3 and pts[-1][0] >= 4 * pts[-3][0]:
            (_, p3), (_, p1) = pts[-3], pts[-1]
            se = math.sqrt(max(p1 * (1 - p1), 0.01) / n)
            if p1 - p3 < 2 * se:
                raise self.unreachable(n)

    def unreachable(self, n: int) -> TargetNotReached:
        x, p = max(self.evaluated(n).items())
        d = self.designs[x].result(n).summary()
        why = []
        if d["enrollment_reached_share"] < 0.99:
            why.append(f"the enrolment target is reached in only {d['enrollment_reached_share']:.0%} of trials")
        if d["events_reached_share"] < 0.99:
            why.append(f"the events target is reached in only {d['events_reached_share']:.0%} of trials")
        reason = f" ({'; '.join(why)})" if why else ""
        return TargetNotReached(
            f"no {self.solve} reaches power {self.target:g}: at {self.solve}={x:,} the power is "
            f"{p:.3f}{reason}, and it stops growing; change the design (a longer screening window, "
            "a later analysis, a larger effect)")

    # -- the whole search ---------------------------------------------------

    def run(self) -> dict:
        stages = _stages(self.R)
        analytic = self.analytic_start(min(stages[0], PILOT_REPLICATES))
        an = self.base.trial.analysis
        if ("pilot_value" not in analytic and analytic.get("value") is not None and an.months is None
                and an.test == "logrank" and not an.looks):
            # Schoenfeld at the scenario's own hazard ratio, analysis at a number
            # of events: the formula is closer than a coarse stage could get.
            stages = stages[-1:]
        x = analytic.get("value") or self.x_base
        lo = hi = None
        for s, n in enumerate(stages):
            self.stage = s
            final = s == len(stages) - 1
            if hi is not None:   # anchor the next stage at the crossing found so far...
                r = self.root([v for v in (lo, hi) if v is not None], stages[s - 1])
                x = hi if r is None or lo is None else min(max(math.ceil(r), lo + 1), hi)
                x = self.blend(x, analytic, stages[s - 1])
            lo, hi = self.run_stage(n, x, final)
        return {"value": hi, "below": lo, "analytic": analytic}


def confidence(search: SizeSearch, value: int, n: int) -> dict:
    """The 95% range of the answer: the values whose power on the fitted curve
    lies within 2 Monte Carlo SE of the target, and a sentence saying so."""
    p = search.p(value, n)
    se = math.sqrt(max(p * (1 - p), 1e-12) / n)
    b = search.slope()
    t = search.target
    lo = search.bracket(n)[0]
    statement_tail = ""
    low = high = None
    if b:
        zt = lambda q: _N.inv_cdf(min(max(q, 1e-9), 1 - 1e-9))  # noqa: E731
        anchors = [v for v in (lo, value) if v is not None]
        a = np.mean([_z(search.p(x, n), n) - b * math.sqrt(x) for x in anchors])

        def at(q):
            v = (zt(q) - a) / b
            return max(search.x_min, math.ceil(v * v)) if v > 0 else search.x_min

        low, high = at(t - 2 * se), at(t + 2 * se)
        low, high = min(low, value), max(high, value)
        statement_tail = (f"; on the power curve fitted through the simulated values (probit of power linear in "
                          f"the square root of {search.solve}), designs from {low:,} to {high:,} have power within "
                          f"2 SE of {t:g}, so the smallest {search.solve} reaching {t:g} lies in that range with "
                          "about 95% confidence")
    statement = (f"power at {search.solve}={value:,} is {p:.4f} ± {se:.4f} (Monte Carlo SE, {n:,} trials)"
                 + statement_tail + ".")
    return {"low": low, "high": high, "statement": statement}


