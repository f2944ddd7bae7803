"""What every test of ``trialsim.analysis`` returns, and how a statistic
becomes a decision.

One frozen result class per test, each with ``z`` (> 0 when treatment,
``group == True``, does better), ``p_value(sided)``, ``estimate`` and
``estimate_name``, so that the follow-up and the engine treat every test
alike; ``critical_value`` and ``reject`` turn ``z`` into rejections.  The
results hold arrays indexed by replicate (``eq=False``: compare them field
by field).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from statistics import NormalDist

import numpy as np


def _special():
    """scipy.special, imported on first use."""
    # deferred: scipy.special costs 0.2-0.3 s of start-up; a run deciding by p_at_most() rarely needs it
    from scipy import special

    return special


def _one_sided_p(z) -> np.ndarray:
    return _special().ndtr(-np.asarray(z, dtype=np.float64))


def _two_sided_p(z) -> np.ndarray:
    return 2.0 * _special().ndtr(-np.abs(np.asarray(z, dtype=np.float64)))


def _normal_p(z, sided: int) -> np.ndarray:
    _check_sided(sided)
    return _one_sided_p(z) if sided == 1 else _two_sided_p(z)


def _z_from_p(p) -> np.ndarray:
    """Normal deviate of a one-sided p-value, ``-Phi^{-1}(p)``, finite: p is
    clipped to [1e-300, 1 - 2**-53] (|z| <= 37.0 and 8.2)."""
    p = np.clip(np.asarray(p, dtype=np.float64), 1e-300, 1.0 - 2.0**-53)
    return -_special().ndtri(p)


class _NormalTest:
    """A result whose statistic ``z`` (> 0 favours treatment) is standard
    normal under the null hypothesis."""

    def p_value(self, sided: int = 1) -> np.ndarray:
        """P-values per replicate: ``sided=1``, ``1 - Phi(z)`` (small when
        treatment is better); ``sided=2``, ``2 * (1 - Phi(|z|))`` (for CMH,
        the chi-square p-value)."""
        return _normal_p(self.z, sided)


class _DifferenceTest(_NormalTest):
    """A normal test of an arm difference (treatment minus control)."""

    @property
    def estimate(self) -> np.ndarray:
        return self.difference


@dataclass(frozen=True, eq=False)
class LogrankResult(_NormalTest):
    """Log-rank statistics for ``R`` replicates (arrays indexed by replicate).

    ``eq=False``: results hold arrays, compare them field by field.
    """

    z: np.ndarray
    """(R,) standardised statistic ``(E1 - O1) / sqrt(V)``; > 0 favours
    treatment (group 1); 0 when ``V == 0`` (e.g. no events)."""
    observed: np.ndarray
    """(R, 2) observed events in control (column 0) and treatment (column 1),
    as float64 like ``expected``."""
    expected: np.ndarray
    """(R, 2) expected events under H0, control and treatment; rows sum to
    ``events``."""
    variance: np.ndarray
    """(R,) hypergeometric variance ``V`` of ``O1 - E1``, with the
    ``(n - d) / (n - 1)`` tie correction."""
    events: np.ndarray
    """(R,) total number of events (int64)."""
    hazard_ratio: np.ndarray
    """(R,) Pike/Peto log-rank hazard ratio ``exp((O1 - E1) / V)``, treatment
    vs control; nan when ``V == 0``."""

    estimate_name = "hazard_ratio"

    @property
    def estimate(self) -> np.ndarray:
        """The Peto hazard ratio (``hazard_ratio``)."""
        return self.hazard_ratio

    @property
    def chi2(self) -> np.ndarray:
        """(R,) chi-square statistic ``z**2`` (lifelines' ``test_statistic``)."""
        return self.z**2


@dataclass(frozen=True, eq=False)
class WeightedLogrankResult(_NormalTest):
    """Fleming-Harrington FH(rho, gamma) weighted log-rank statistics.

    Weights ``w_j = S(t_j-)**rho * (1 - S(t_j-))**gamma``, ``S`` the pooled
    (within-stratum) Kaplan-Meier estimate just before ``t_j``.
    """

    z: np.ndarray
    """(R,) ``-U / sqrt(V)``; > 0 favours treatment; 0 when ``V == 0``."""
    observed_minus_expected: np.ndarray
    """(R,) ``U = sum w_j (d1_j - d_j n1_j / n_j)`` (treatment)."""
    variance: np.ndarray
    """(R,) ``V = sum w_j**2 v_j``, ``v_j`` the log-rank variance term."""
    events: np.ndarray
    """(R,) total number of events (int64)."""
    rho: float
    gamma: float

    estimate_name = None
    estimate = None


@dataclass(frozen=True, eq=False)
class MaxComboResult:
    """MaxCombo: the maximum of several standardised FH statistics.

    ``p_value(1)`` is ``P(max_k Z_k >= z_max)`` and ``p_value(2)`` is
    ``P(max_k |Z_k| >= max_k |z_k|)`` for ``Z ~ N(0, correlation)``, the
    correlation estimated from the data.  ``z`` is the normal deviate of the
    one-sided p-value, ``-Phi^{-1}(p_value(1))``, so that ``reject(z, ...)``
    with ``sided=1`` is the MaxCombo test; it is NOT ``z_max``.
    """

    z: np.ndarray
    """(R,) ``-Phi^{-1}(p_value(1))`` (finite; 0 is p = 1/2)."""
    z_max: np.ndarray
    """(R,) largest standardised statistic over the tests with information."""
    z_tests: np.ndarray
    """(R, K) standardised FH statistics, one column per test (0 when that
    test's variance is 0)."""
    correlation: np.ndarray
    """(R, K, K) estimated correlation of the tests' statistics."""
    events: np.ndarray
    tests: tuple
    """The (rho, gamma) pairs, in column order."""
    p_one_sided: np.ndarray
    """(R,) ``P(max_k Z_k >= z_max)``; 1 where no test has information."""
    _two_sided: dict = field(default_factory=dict, repr=False)

    estimate_name = None
    estimate = None

    def p_value(self, sided: int = 1) -> np.ndarray:
        """Multivariate-normal p-value of the maximum (see class docstring).

        Computed by vectorised quasi-Monte Carlo (``_mvn_max_tail``); the
        absolute error is below 2e-5 (documented in docs/analysis.md and
        tested against scipy's ``multivariate_normal.cdf``)."""
        _check_sided(sided)
        if sided == 1:
            return self.p_one_sided
        if "p" not in self._two_sided:
            # deferred: the multivariate-normal tail is loaded by the tests that need it, not by every run
            from trialsim.analysis.mvn import _mvn_max_tail

            has = np.diagonal(self.correlation, axis1=1, axis2=2) > 0.0
            absmax = np.max(np.where(has, np.abs(self.z_tests), -np.inf), axis=1, initial=-np.inf)
            self._two_sided["p"] = _mvn_max_tail(absmax, self.correlation, has, two_sided=True)
        return self._two_sided["p"]


@dataclass(frozen=True, eq=False)
class RMSTResult(_DifferenceTest):
    """Restricted mean survival time (Kaplan-Meier area up to ``horizon``)."""

    z: np.ndarray
    """(R,) ``difference / se``; > 0 when treatment lives longer; 0 when
    ``se`` is 0 or not finite."""
    rmst: np.ndarray
    """(R, 2) RMST of control (column 0) and treatment (column 1); nan for an
    arm without patients."""
    variance: np.ndarray
    """(R, 2) Greenwood-type variance of each arm's RMST estimate
    (survRM2's ``rmst1``)."""
    difference: np.ndarray
    """(R,) treatment minus control."""
    se: np.ndarray
    """(R,) ``sqrt(variance.sum(axis=1))``."""
    horizon: float

    estimate_name = "rmst_difference"


@dataclass(frozen=True, eq=False)
class MilestoneResult(_DifferenceTest):
    """Kaplan-Meier survival at a milestone time, per arm, and its difference."""

    z: np.ndarray
    """(R,) ``difference / se``; > 0 when treatment survives more."""
    survival: np.ndarray
    """(R, 2) Kaplan-Meier survival at ``at``, control and treatment."""
    variance: np.ndarray
    """(R, 2) Greenwood variance ``S**2 * sum d / (n (n - d))``."""
    difference: np.ndarray
    se: np.ndarray
    at: float

    estimate_name = "milestone_difference"


@dataclass(frozen=True, eq=False)
class CoxResult(_NormalTest):
    """Cox proportional-hazards model with the treatment indicator alone."""

    z: np.ndarray
    """(R,) Wald ``-log_hr / se`` (> 0 favours treatment); where the
    estimate is infinite (``log_hr = +-inf``) the score statistic at 0,
    ``-U(0) / sqrt(I(0))``; 0 where the model has no information."""
    log_hr: np.ndarray
    """(R,) maximum partial-likelihood log hazard ratio, treatment vs control;
    +-inf when the likelihood is monotone, nan without information."""
    se: np.ndarray
    """(R,) ``1 / sqrt(I(log_hr))`` (inf where ``log_hr`` is infinite)."""
    ci_low: np.ndarray
    ci_high: np.ndarray
    """(R,) Wald confidence interval of the hazard ratio at ``level``."""
    level: float
    ties: str
    iterations: np.ndarray
    """(R,) Newton-Raphson iterations used (0 where not iterated)."""
    converged: np.ndarray
    """(R,) False where the iterations stopped without converging or the
    estimate is infinite or undefined."""
    events: np.ndarray

    estimate_name = "hazard_ratio"

    @property
    def hr(self) -> np.ndarray:
        return np.exp(self.log_hr)

    @property
    def estimate(self) -> np.ndarray:
        return self.hr


@dataclass(frozen=True, eq=False)
class FisherResult:
    """Fisher's exact test for the 2x2 tables of MRD clearance, one per
    replicate: rows treatment / control, columns cleared / not cleared."""

    z: np.ndarray
    """(R,) ``-Phi^{-1}(p_greater)`` (finite), so that ``reject(z, sided=1)``
    is the exact one-sided test."""
    p_greater: np.ndarray
    """(R,) exact one-sided p-value, treatment clears more
    (``scipy.stats.fisher_exact(..., alternative='greater')``)."""
    p_two_sided: np.ndarray
    """(R,) exact two-sided p-value, scipy's definition (tables no more
    probable than the observed one, relative tolerance 1e-14)."""
    odds_ratio: np.ndarray
    """(R,) sample odds ratio (scipy's ``statistic``): inf when a
    denominator cell is 0, nan when a margin is 0."""
    share_treatment: np.ndarray
    share_control: np.ndarray
    alternative: str

    estimate_name = "odds_ratio"

    @property
    def estimate(self) -> np.ndarray:
        return self.odds_ratio

    @property
    def pvalue(self) -> np.ndarray:
        """The p-value of ``alternative``."""
        return self.p_greater if self.alternative == "greater" else self.p_two_sided

    def p_value(self, sided: int = 1) -> np.ndarray:
        _check_sided(sided)
        return self.p_greater if sided == 1 else self.p_two_sided


@dataclass(frozen=True, eq=False)
class CMHResult(_NormalTest):
    """Cochran-Mantel-Haenszel test over strata (R's ``mantelhaen.test``)."""

    z: np.ndarray
    """(R,) ``sign(D) * sqrt(chi2)``, ``D = sum_k (a_k - E a_k)``: > 0 when
    treatment clears more; 0 when the variance is 0."""
    chi2: np.ndarray
    """(R,) ``(|D| - c)**2 / V``, ``c = 0.5`` with the continuity correction
    (when ``|D| >= 0.5``), else 0."""
    variance: np.ndarray
    odds_ratio: np.ndarray
    """(R,) Mantel-Haenszel common odds ratio, treatment vs control."""
    ci_low: np.ndarray
    ci_high: np.ndarray
    """(R,) its two-sided 95% confidence interval (Robins-Breslow-Greenland
    variance of the log odds ratio)."""
    correct: bool

    estimate_name = "odds_ratio"

    @property
    def estimate(self) -> np.ndarray:
        return self.odds_ratio


def critical_value(alpha: float, sided: int) -> float:
    """Standard normal critical value: ``z_{1-alpha}`` (one-sided) or
    ``z_{1-alpha/2}`` (two-sided)."""
    _check_sided(sided)
    alpha = float(alpha)
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
    return float(_special().ndtri(1.0 - alpha / sided))


def reject(z, *, alpha: float, sided: int) -> np.ndarray:
    """Rejections of H0 per replicate: ``z >= crit`` (one-sided, treatment
    better) or ``|z| >= crit`` (two-sided).  nan never rejects."""
    crit = critical_value(alpha, sided)
    z = np.asarray(z, dtype=np.float64)
    if sided == 1:
        return z >= crit
    return np.abs(z) >= crit


#: z within this of the critical value: the decision is left to the p-value itself
_DECISION_MARGIN = 1e-6


def p_at_most(result, sided: int, alpha: float) -> np.ndarray:
    """``result.p_value(sided) <= alpha`` per replicate: the same booleans,
    without computing a p-value where it cannot be in doubt.

    For a normal test, ``p <= alpha`` is ``Phi(s) <= alpha / sided`` with
    ``s = -z`` (one-sided) or ``-|z|`` (two-sided), and Phi is increasing: a
    replicate whose ``s`` lies more than ``_DECISION_MARGIN`` below (above)
    ``Phi^{-1}(alpha / sided)`` rejects (does not). That margin moves Phi by
    at least ~1e-11 relative to ``alpha`` for critical values within 30 of
    0, far more than the rounding of Phi or of ``NormalDist.inv_cdf`` (~1e-16),
    so those decisions are the p-value's own. Only replicates within the
    margin (in practice none) have their p-value computed; nan never rejects.
    Any other result (its own ``p_value``) is decided by its p-values."""
    if not isinstance(result, _NormalTest) or type(result).p_value is not _NormalTest.p_value:
        return np.asarray(result.p_value(sided), dtype=float) <= alpha
    _check_sided(sided)
    z = np.asarray(result.z, dtype=np.float64)
    level = float(alpha) / sided
    if not 0.0 < level < 1.0:
        return _normal_p(z, sided) <= alpha
    crit = NormalDist().inv_cdf(level)
    if not abs(crit) < 30.0:
        return _normal_p(z, sided) <= alpha
    s = -z if sided == 1 else -np.abs(z)
    out = s < crit - _DECISION_MARGIN
    doubt = np.flatnonzero(~out & ~(s > crit + _DECISION_MARGIN) & ~np.isnan(s))
    if doubt.size:
        out[doubt] = _normal_p(z[doubt], sided) <= alpha
    return out


def _check_sided(sided: int) -> None:
    if sided not in (1, 2):
        raise ValueError(f"sided must be 1 or 2, got {sided!r}")
