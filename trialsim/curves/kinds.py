"""The curve kinds: the Curve base class and every distribution of a time.

Every curve has ONE source of truth: its cumulative hazard ``cumhaz`` (Λ) and
the generalised inverse of it, ``inv_cumhaz``. Survival, CDF, quantiles,
sampling (inverse transform of a standard exponential), conditional sampling
and residual times are all derived from those two in :class:`Curve`.

Time is in months, rates are per month. All methods accept scalars or arrays
of any shape and follow numpy's conventions: an array in, an array of the same
shape out; a scalar in, a numpy float64 out. Negative times are treated as
"before anything can happen" (Λ = 0, hazard 0); NaN in gives NaN out.

Survival curves (exponential, Weibull, log-normal, log-logistic, piecewise
exponential, cure mixture, proportional hazards, survival table) and the
distributions of times that are not survival curves (Fixed, Uniform) share
the one interface. The YAML form of each kind (``to_spec`` /
:func:`trialsim.curves.from_spec`) is the "Curves" section of the scenario
format; see docs/curves.md.

Building a curve and evaluating it at one time (:meth:`Curve.survival_at`,
:meth:`Curve.hazard_at`, :meth:`Curve.cumhaz_at`: a Python float in and out)
need no numpy: a kernel's formula is written once on ``xp``, numpy for arrays
and plain Python floats for one time (``trialsim.curves._numeric._xp``), and
a piecewise-exponential curve keeps its pieces as Python lists too, making
its numpy arrays on first use. Checking a scenario (``trialsim validate``)
thus runs without importing numpy; log-normal curves (scipy), survival
tables and the moments still use it.
"""

from __future__ import annotations

import abc
import bisect
import math
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

from trialsim.curves._numeric import (
    SCALAR,
    LazyNumpy,
    _as_float,
    _at_least,
    _check_rng,
    _floats,
    _fmt,
    _is_array,
    _number,
    _ret,
    _vector,
    _xp,
)

np = LazyNumpy(globals())      # numpy, imported when a curve first computes with arrays

_LN2 = math.log(2.0)


def _special():
    """scipy.special, imported on first use."""
    # deferred: scipy.special costs about 0.15 s of start-up; only log-normal curves and moments need it
    from scipy import special

    return special


def _searchsorted(knots: np.ndarray, x, side: str) -> np.ndarray:
    """np.searchsorted(knots, x, side) for sorted knots; with a few knots, by
    counting comparisons (a tenth of the time of a binary search per element)."""
    x = np.asarray(x)
    if knots.size > 6 or x.ndim == 0 or np.isnan(x).any():
        return np.searchsorted(knots, x, side=side)
    out = np.zeros(x.shape, dtype=np.intp)
    for k in knots.tolist():
        out += (x >= k) if side == "right" else (x > k)
    return out


def _pow(a, b):
    """a ** b: the operator on arrays and numpy scalars (as numpy computes it), numpy's
    IEEE result (inf, nan) rather than Python's exception on one float."""
    return SCALAR.power(a, b) if type(a) is float else a ** b


def _inner(curve: "Curve", what: str, t):
    """The ``what`` (cumhaz, hazard or survival) of an inner curve (of a cure
    mixture, of proportional hazards) at ``t``: a float at a float, else an array."""
    if type(t) is float:
        return getattr(curve, f"{what}_at")(t)
    return _as_float(getattr(curve, what)(t))


def _median_text(curve: "Curve") -> str:
    m = curve.median()
    return "median not reached" if math.isinf(m) else f"median {_fmt(m)} months"


def _g2(x: np.ndarray) -> np.ndarray:
    """1 - exp(-x) (1 + x), accurate for small x >= 0."""
    x = np.asarray(x, dtype=float)
    series = x * x * (0.5 - x * (1.0 / 3.0 - x * (0.125 - x * (1.0 / 30.0 - x / 144.0))))
    direct = -np.expm1(-x) - x * np.exp(-x)
    return np.where(x < 1e-3, series, direct)


class Curve(abc.ABC):
    """Distribution of a non-negative time T, described by Λ(t) = -log P(T > t).

    Subclasses implement ``_cumhaz`` (t >= 0), ``_inv_cumhaz`` (x >= 0),
    ``_hazard`` (t >= 0), ``to_spec``, ``describe`` and ``_fields``; the public
    methods add the edge-case handling (negative t, NaN) and silence numpy
    floating-point warnings (log(0), inf*0 ...) which the implementations
    resolve explicitly.

    ``inv_cumhaz(x)`` is the generalised inverse: the smallest t >= 0 with
    Λ(t) >= x, and inf when there is none. So it is 0 at x = 0, inf for
    x > Λ(inf), and at x = Λ(inf) it is inf unless Λ reaches its limit at a
    finite time (the plateau of a piecewise-exponential or table curve, the
    end of a Uniform, a Fixed value).

    Sampling is inverse transform: ``inv_cumhaz(E)`` with E ~ Exp(1). Every
    kind consumes exactly one standard exponential per draw, so swapping one
    curve for another keeps common random numbers.
    """

    # -- to implement ------------------------------------------------------

    @abc.abstractmethod
    def _cumhaz(self, t: np.ndarray) -> np.ndarray: ...

    @abc.abstractmethod
    def _inv_cumhaz(self, x: np.ndarray) -> np.ndarray: ...

    @abc.abstractmethod
    def _hazard(self, t: np.ndarray) -> np.ndarray: ...

    @abc.abstractmethod
    def to_spec(self) -> Any:
        """The SCENARIO_FORMAT.md mapping (or number) that rebuilds this curve."""

    @abc.abstractmethod
    def describe(self) -> str:
        """Short human text."""

    @abc.abstractmethod
    def _fields(self) -> dict[str, Any]:
        """Constructor keyword arguments (for repr and equality)."""

    # hooks with generic defaults
    def _survival(self, t: np.ndarray) -> np.ndarray:
        return _xp(t).exp(-self._cumhaz(t))

    def _residual(self, e: np.ndarray, s: np.ndarray, lam_s: np.ndarray) -> np.ndarray:
        return self.inv_cumhaz(lam_s + e) - s

    def _scaled(self, hazard_ratio: float) -> "Curve | None":
        """An equivalent curve with hazard multiplied by hazard_ratio, if one has a closed form."""
        return None

    def _support_start(self) -> float:
        """inf{t : Λ(t) > 0}, the lower end of the support (inf if Λ is 0 everywhere)."""
        return 0.0

    # -- public, derived ---------------------------------------------------

    def cumhaz(self, t: Any) -> np.ndarray:
        """Cumulative hazard Λ(t); 0 for t < 0; Λ(inf) may be finite (cure)."""
        t = _as_float(t)
        with np.errstate(all="ignore"):
            out = np.asarray(self._cumhaz(np.maximum(t, 0.0)), dtype=float)
            out = np.where(t < 0, 0.0, out)
            out = np.where(np.isnan(t), np.nan, out)
        return _ret(out)

    def inv_cumhaz(self, x: Any) -> np.ndarray:
        """Smallest t >= 0 with Λ(t) >= x; inf where there is none (x beyond Λ(inf))."""
        x = _as_float(x)
        with np.errstate(all="ignore"):
            out = np.asarray(self._inv_cumhaz(np.maximum(x, 0.0)), dtype=float)
            out = np.where(x <= 0, 0.0, out)
            out = np.where(np.isnan(x), np.nan, out)
        return _ret(out)

    def hazard(self, t: Any) -> np.ndarray:
        """Hazard λ(t) (right-continuous at breaks); 0 for t < 0."""
        t = _as_float(t)
        with np.errstate(all="ignore"):
            out = np.asarray(self._hazard(np.maximum(t, 0.0)), dtype=float)
            out = np.where(t < 0, 0.0, out)
            out = np.where(np.isnan(t), np.nan, out)
        return _ret(out)

    #: are the kernels written on ``xp`` (numpy or one Python float), so that the ``*_at`` methods need no numpy?
    _float_kernels = False

    def cumhaz_at(self, t: float) -> float:
        """:meth:`cumhaz` at one time, a Python float in and out (the same kernel, on floats)."""
        return self._at(self._cumhaz, self.cumhaz, t, 0.0)

    def hazard_at(self, t: float) -> float:
        """:meth:`hazard` at one time, a Python float in and out (the same kernel, on floats)."""
        return self._at(self._hazard, self.hazard, t, 0.0)

    def survival_at(self, t: float) -> float:
        """:meth:`survival` at one time, a Python float in and out (the same kernel, on floats)."""
        return self._at(self._survival, self.survival, t, 1.0)

    def hazards_at(self, times: Sequence[float]) -> list[float]:
        """:meth:`hazard_at` at each of ``times``, a list of Python floats (the
        same values; a kind may compute them in one pass)."""
        return [self.hazard_at(t) for t in times]

    def _at(self, kernel, public, t: float, before: float) -> float:
        """``public(t)`` as a float: for the kinds written on ``xp`` the kernel
        on the float itself, as ``public`` applies it (``before`` for t < 0,
        nan for nan); for the others (log-normal: scipy) ``public`` itself."""
        t = float(t)
        if not self._float_kernels:
            return float(public(t))
        if math.isnan(t):
            return math.nan
        if t < 0:
            return before
        return float(kernel(t))

    def survival(self, t: Any) -> np.ndarray:
        """S(t) = P(T > t) = exp(-Λ(t))."""
        t = _as_float(t)
        with np.errstate(all="ignore"):
            out = np.asarray(self._survival(np.maximum(t, 0.0)), dtype=float)
            out = np.where(t < 0, 1.0, out)
            out = np.where(np.isnan(t), np.nan, out)
        return _ret(out)

    def cdf(self, t: Any) -> np.ndarray:
        """F(t) = P(T <= t) = 1 - exp(-Λ(t)); tends to 1 - cured_fraction."""
        lam = _as_float(self.cumhaz(t))
        with np.errstate(all="ignore"):
            return _ret(-np.expm1(-lam))

    def quantile(self, p: Any) -> np.ndarray:
        """inv_cumhaz(-log1p(-p)): inf for p beyond 1 - cured_fraction.

        At p = 0 it is the lower end of the support, inf{t : F(t) > 0} (as in
        scipy's ppf), rather than inv_cumhaz(0) = 0: quantile(u) with u a
        uniform draw stays inside the support even for u = 0.
        """
        p = _as_float(p)
        if np.any((p < 0) | (p > 1)):
            raise ValueError("quantile: p must be in [0, 1]")
        with np.errstate(all="ignore"):
            x = -np.log1p(-p)
        out = _as_float(self.inv_cumhaz(x))
        return _ret(np.where(p == 0, self._support_start(), out))

    def quantile_of_draws(self, u: np.ndarray) -> np.ndarray:
        """quantile(u) for uniform draws u in [0, 1), without the range checks
        and the NaN handling of :meth:`quantile`: the simulation's hot path.
        Kinds with a closed-form quantile override it; the values are those of
        :meth:`quantile` up to rounding."""
        return np.asarray(self.quantile(u), dtype=float)

    def sample(self, rng: np.random.Generator, size: Any = None) -> np.ndarray:
        """Draws of T (inf for cured draws), by inverse transform."""
        e = _check_rng(rng).standard_exponential(size)
        return self.inv_cumhaz(e)

    def sample_conditional(self, rng: np.random.Generator, survived_to: Any) -> np.ndarray:
        """Residual times T - s given T > s, one per element of ``survived_to``."""
        s = _as_float(survived_to)
        e = _check_rng(rng).standard_exponential(s.shape)
        return self.residual(e, s)

    def residual(self, e: Any, s: Any) -> np.ndarray:
        """Deterministic map inv_cumhaz(cumhaz(s) + e) - s (clipped at 0).

        For e ~ Exp(1) this is distributed as T - s given T > s. Where
        S(s) = 0 (conditioning on an impossible event) the result is NaN; where
        s = inf and the curve has a cured fraction it is inf.
        """
        e, s = np.broadcast_arrays(_as_float(e), _as_float(s))
        lam_s = _as_float(self.cumhaz(s))
        with np.errstate(all="ignore"):
            out = np.asarray(self._residual(e, s, lam_s), dtype=float)
            out = np.maximum(out, 0.0)
            out = np.where(np.isposinf(lam_s), np.nan, out)
            out = np.where(np.isposinf(s) & np.isfinite(lam_s), np.inf, out)
            out = np.where(np.isnan(e) | np.isnan(s), np.nan, out)
        return _ret(out)

    @property
    def cured_fraction(self) -> float:
        """exp(-Λ(inf)): share that never has the event; 0 for proper curves."""
        return float(np.exp(-float(self.cumhaz(np.inf))))

    def mean(self) -> float:
        raise NotImplementedError(f"{type(self).__name__}: no closed-form mean")

    def variance(self) -> float:
        raise NotImplementedError(f"{type(self).__name__}: no closed-form variance")

    def median(self) -> float:
        return float(self.quantile(0.5))

    # -- from lifelines -------------------------------------------------------

    @classmethod
    def from_lifelines(cls, fitter: Any) -> "Curve":
        """The trialsim curve of a fitted lifelines univariate fitter.

        KaplanMeierFitter -> :class:`TableCurve` (the estimate at its steps,
        log-linear between them, flat after the last; a survival of 0 becomes
        1e-9, which a table can hold); ExponentialFitter -> :class:`Exponential`
        (rate = 1/lambda_); WeibullFitter -> :class:`Weibull` (scale = lambda_,
        shape = rho_); LogNormalFitter -> :class:`LogNormal` (mu_, sigma_);
        LogLogisticFitter -> :class:`LogLogistic` (alpha_, beta_);
        PiecewiseExponentialFitter -> :class:`PiecewiseExponential` (its
        breakpoints, rates 1/lambda_i_). Called on a subclass (e.g.
        ``Weibull.from_lifelines``) it checks that the fitter gives that kind.
        """
        kind = type(fitter).__name__
        if not hasattr(fitter, "durations"):
            raise ValueError(f"from_lifelines: {kind} has not been fitted (call .fit(...) first)")
        if kind == "KaplanMeierFitter":
            sf = fitter.survival_function_
            t = sf.index.to_numpy(dtype=float)
            s = np.maximum(sf.iloc[:, 0].to_numpy(dtype=float), 1e-9)
            keep = np.concatenate(([True], np.diff(s) < 0)) | (t == 0)  # steps only (censoring times repeat S)
            keep[-1] = True
            curve: Curve = TableCurve(times=t[keep], survival=s[keep])
        elif kind == "ExponentialFitter":
            curve = Exponential(rate=1.0 / float(fitter.lambda_))
        elif kind == "WeibullFitter":
            curve = Weibull(scale=float(fitter.lambda_), shape=float(fitter.rho_))
        elif kind == "LogNormalFitter":
            curve = LogNormal(mu=float(fitter.mu_), sigma=float(fitter.sigma_))
        elif kind == "LogLogisticFitter":
            curve = LogLogistic(alpha=float(fitter.alpha_), beta=float(fitter.beta_))
        elif kind == "PiecewiseExponentialFitter":
            breaks = [float(b) for b in fitter.breakpoints if np.isfinite(b)]
            lam = [float(fitter.params_[f"lambda_{i}_"]) for i in range(len(breaks) + 1)]
            curve = PiecewiseExponential(breaks=breaks, rates=1.0 / np.asarray(lam))
        else:
            raise ValueError(f"from_lifelines: no trialsim curve for {kind} (known: KaplanMeierFitter, "
                             "ExponentialFitter, WeibullFitter, LogNormalFitter, LogLogisticFitter, "
                             "PiecewiseExponentialFitter)")
        if cls is not Curve and not isinstance(curve, cls):
            raise ValueError(f"from_lifelines: {kind} gives a {type(curve).__name__}, not a {cls.__name__}")
        return curve

    # -- value semantics -----------------------------------------------------

    def __repr__(self) -> str:
        args = ", ".join(
            f"{k}={(v.tolist() if isinstance(v, np.ndarray) else v)!r}" for k, v in self._fields().items()
        )
        return f"{type(self).__name__}({args})"

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        a, b = self._fields(), other._fields()  # type: ignore[attr-defined]
        if a.keys() != b.keys():
            return False
        for k in a:
            va, vb = a[k], b[k]
            if isinstance(va, np.ndarray) or isinstance(vb, np.ndarray):
                if not np.array_equal(np.asarray(va), np.asarray(vb)):
                    return False
            elif va != vb:
                return False
        return True

    def __hash__(self) -> int:
        return hash(repr(self))


# --------------------------------------------------------------------------
# Parametric kinds
# --------------------------------------------------------------------------


class Exponential(Curve):
    """Constant hazard: Λ(t) = rate * t. ``rate = 0`` means the event never happens."""

    _float_kernels = True

    def __init__(self, rate: float):
        self.rate = _at_least("Exponential", "rate", rate, 0.0, strict=False)

    @classmethod
    def from_median(cls, median: float) -> "Exponential":
        """rate = log(2) / median."""
        m = _at_least("Exponential.from_median", "median", median, 0.0, strict=True)
        return cls(rate=_LN2 / m)

    @classmethod
    def from_cumulative(cls, cumulative: float, at: float) -> "Exponential":
        """Cumulative incidence ``cumulative`` at time ``at``: rate = -log(1 - cumulative) / at."""
        owner = "Exponential.from_cumulative"
        c = _number(owner, "cumulative", cumulative)
        if not 0.0 <= c < 1.0:
            raise ValueError(f"{owner}: cumulative must be in [0, 1), got {c:g}")
        a = _at_least(owner, "at", at, 0.0, strict=True)
        return cls(rate=-math.log1p(-c) / a)

    def _cumhaz(self, t):
        if self.rate == 0.0:
            return _xp(t).zeros_like(t)
        return self.rate * t

    def _inv_cumhaz(self, x):
        if self.rate == 0.0:
            return np.where(x > 0, np.inf, 0.0)
        return x / self.rate

    def _hazard(self, t):
        return _xp(t).full_like(t, self.rate)

    def quantile_of_draws(self, u):
        if self.rate == 0.0:
            return np.full(np.shape(u), np.inf)   # never happens
        e = np.log1p(-u)
        e *= -1.0 / self.rate
        return e

    def _residual(self, e, s, lam_s):
        return e / self.rate if self.rate > 0 else np.where(e > 0, np.inf, 0.0)

    def _scaled(self, hazard_ratio):
        return Exponential(rate=self.rate * hazard_ratio)

    def _support_start(self):
        return 0.0 if self.rate > 0 else math.inf

    @property
    def cured_fraction(self) -> float:
        return 1.0 if self.rate == 0.0 else 0.0

    def mean(self) -> float:
        return math.inf if self.rate == 0.0 else 1.0 / self.rate

    def variance(self) -> float:
        return math.inf if self.rate == 0.0 else 1.0 / self.rate**2

    def median(self) -> float:
        return math.inf if self.rate == 0.0 else _LN2 / self.rate

    def to_spec(self) -> dict:
        return {"exponential": {"rate": self.rate}}

    def describe(self) -> str:
        if self.rate == 0.0:
            return "exponential(rate=0/month, never occurs)"
        return f"exponential(rate={_fmt(self.rate)}/month, {_median_text(self)})"

    def _fields(self):
        return {"rate": self.rate}


class Weibull(Curve):
    """Λ(t) = (t / scale) ** shape."""

    _float_kernels = True

    def __init__(self, scale: float, shape: float):
        self.scale = _at_least("Weibull", "scale", scale, 0.0, strict=True)
        self.shape = _at_least("Weibull", "shape", shape, 0.0, strict=True)

    @classmethod
    def from_median(cls, median: float, shape: float) -> "Weibull":
        """scale = median / log(2) ** (1 / shape)."""
        m = _at_least("Weibull.from_median", "median", median, 0.0, strict=True)
        k = _at_least("Weibull.from_median", "shape", shape, 0.0, strict=True)
        return cls(scale=m / _LN2 ** (1.0 / k), shape=k)

    def _cumhaz(self, t):
        return _pow(t / self.scale, self.shape)

    def _inv_cumhaz(self, x):
        return self.scale * x ** (1.0 / self.shape)

    def quantile_of_draws(self, u):
        e = np.log1p(-u)
        np.negative(e, out=e)
        if self.shape != 1.0:
            np.power(e, 1.0 / self.shape, out=e)
        e *= self.scale
        return e

    def _hazard(self, t):
        # 0 ** (shape - 1) is inf for shape < 1 (hazard at 0 is infinite), 1 for shape == 1
        return (self.shape / self.scale) * _pow(t / self.scale, self.shape - 1.0)

    def _scaled(self, hazard_ratio):
        if hazard_ratio == 0:
            return None
        return Weibull(scale=self.scale * hazard_ratio ** (-1.0 / self.shape), shape=self.shape)

    @property
    def cured_fraction(self) -> float:
        return 0.0

    def mean(self) -> float:
        return float(self.scale * _special().gamma(1.0 + 1.0 / self.shape))

    def variance(self) -> float:
        g1 = _special().gamma(1.0 + 1.0 / self.shape)
        g2 = _special().gamma(1.0 + 2.0 / self.shape)
        return float(self.scale**2 * (g2 - g1 * g1))

    def median(self) -> float:
        return self.scale * _LN2 ** (1.0 / self.shape)

    def to_spec(self) -> dict:
        return {"weibull": {"scale": self.scale, "shape": self.shape}}

    def describe(self) -> str:
        return f"weibull(scale={_fmt(self.scale)} months, shape={_fmt(self.shape)}, {_median_text(self)})"

    def _fields(self):
        return {"scale": self.scale, "shape": self.shape}


class LogNormal(Curve):
    """log T ~ Normal(mu, sigma): S(t) = Φ(-(log t - mu) / sigma), Λ(t) = -log Φ(-z).

    The parameterisation of lifelines' ``LogNormalFitter`` (``mu_``,
    ``sigma_``); the median is exp(mu). Λ and its inverse use scipy's
    ``log_ndtr`` / ``ndtri_exp``, so the far tail keeps its precision.
    """

    def __init__(self, mu: float, sigma: float):
        self.mu = _number("LogNormal", "mu", mu)
        self.sigma = _at_least("LogNormal", "sigma", sigma, 0.0, strict=True)

    @classmethod
    def from_median(cls, median: float, sigma: float) -> "LogNormal":
        """mu = log(median)."""
        m = _at_least("LogNormal.from_median", "median", median, 0.0, strict=True)
        return cls(mu=math.log(m), sigma=sigma)

    def _z(self, t):
        return (np.log(t) - self.mu) / self.sigma  # -inf at t = 0

    def _cumhaz(self, t):
        return -_special().log_ndtr(-self._z(t))

    def _survival(self, t):
        return _special().ndtr(-self._z(t))

    def _inv_cumhaz(self, x):
        # z with Φ(-z) = exp(-x): through 1 - exp(-x) where that is small
        # (ndtri of a small probability), through exp(-x) itself otherwise.
        z = np.where(x < _LN2, _special().ndtri(-np.expm1(-x)), -_special().ndtri_exp(-x))
        return np.exp(self.mu + self.sigma * z)

    def _hazard(self, t):
        z = self._z(t)
        log_pdf_z = -0.5 * z * z - 0.5 * math.log(2.0 * math.pi)
        out = np.exp(log_pdf_z - _special().log_ndtr(-z)) / (self.sigma * t)
        return np.where(t == 0, 0.0, np.where(np.isposinf(t), 0.0, out))

    @property
    def cured_fraction(self) -> float:
        return 0.0

    def mean(self) -> float:
        try:
            return math.exp(self.mu + 0.5 * self.sigma**2)
        except OverflowError:       # a huge sigma: the mean is beyond any float
            return math.inf

    def variance(self) -> float:
        try:
            s2 = self.sigma**2
            return math.expm1(s2) * math.exp(2.0 * self.mu + s2)
        except OverflowError:
            return math.inf

    def median(self) -> float:
        return math.exp(self.mu)

    def to_spec(self) -> dict:
        return {"lognormal": {"mu": self.mu, "sigma": self.sigma}}

    def describe(self) -> str:
        return f"log-normal(mu={_fmt(self.mu)}, sigma={_fmt(self.sigma)}, {_median_text(self)})"

    def _fields(self):
        return {"mu": self.mu, "sigma": self.sigma}


class LogLogistic(Curve):
    """S(t) = 1 / (1 + (t / alpha) ** beta), Λ(t) = log1p((t / alpha) ** beta).

    The parameterisation of lifelines' ``LogLogisticFitter`` (``alpha_``, the
    median, and ``beta_``, the shape). The mean is finite for beta > 1 and the
    variance for beta > 2 (inf otherwise).
    """

    _float_kernels = True

    def __init__(self, alpha: float, beta: float):
        self.alpha = _at_least("LogLogistic", "alpha", alpha, 0.0, strict=True)
        self.beta = _at_least("LogLogistic", "beta", beta, 0.0, strict=True)

    def _cumhaz(self, t):
        xp = _xp(t)
        return xp.log1p(_pow(t / self.alpha, self.beta))

    def _inv_cumhaz(self, x):
        # (t / alpha) ** beta = expm1(x); in logs for large x, where expm1 overflows
        log_em1 = np.where(x < 1.0, np.log(np.expm1(np.minimum(x, 1.0))), x + np.log1p(-np.exp(-x)))
        return self.alpha * np.exp(log_em1 / self.beta)

    def _hazard(self, t):
        xp = _xp(t)
        u = t / self.alpha
        with xp.errstate(all="ignore"):
            out = (self.beta / self.alpha) * _pow(u, self.beta - 1.0) / (1.0 + _pow(u, self.beta))
            # large t: the ratio is beta / t (0 at inf); at t = 0 it is 0, 1/alpha or inf as for a Weibull
            out = xp.where(xp.isfinite(out), out, xp.where(t > self.alpha, xp.divide(self.beta, t), out))
        return out

    @property
    def cured_fraction(self) -> float:
        return 0.0

    def mean(self) -> float:
        if self.beta <= 1.0:
            return math.inf
        b = math.pi / self.beta
        return self.alpha * b / math.sin(b)

    def variance(self) -> float:
        if self.beta <= 2.0:
            return math.inf
        b = math.pi / self.beta
        return self.alpha**2 * (2.0 * b / math.sin(2.0 * b) - b * b / math.sin(b) ** 2)

    def median(self) -> float:
        return self.alpha

    def to_spec(self) -> dict:
        return {"loglogistic": {"alpha": self.alpha, "beta": self.beta}}

    def describe(self) -> str:
        return f"log-logistic(alpha={_fmt(self.alpha)} months, beta={_fmt(self.beta)}, {_median_text(self)})"

    def _fields(self):
        return {"alpha": self.alpha, "beta": self.beta}


class PiecewiseExponential(Curve):
    """Constant hazard ``rates[i]`` between consecutive breaks.

    ``breaks`` (strictly increasing, > 0) split [0, inf) into len(breaks) + 1
    intervals; the hazard is right-continuous (at a break the next rate
    applies). A last rate of 0 gives a cured fraction exp(-Λ(last break)).
    """

    _float_kernels = True

    def __init__(self, breaks: Sequence[float], rates: Sequence[float]):
        owner = "PiecewiseExponential"
        b = _floats(owner, "breaks", breaks)
        r = _floats(owner, "rates", rates)
        if len(r) != len(b) + 1:
            raise ValueError(
                f"{owner}: need len(rates) == len(breaks) + 1, got {len(r)} rates for {len(b)} breaks"
            )
        if b and b[0] <= 0:
            raise ValueError(f"{owner}: breaks must be > 0, got breaks[0] = {b[0]:g}")
        for i in range(1, len(b)):
            if not b[i] - b[i - 1] > 0:
                raise ValueError(
                    f"{owner}: breaks must be strictly increasing, got breaks[{i}] = {b[i]:g} "
                    f"after breaks[{i - 1}] = {b[i - 1]:g}"
                )
        for i, rate in enumerate(r):
            if rate < 0:
                raise ValueError(f"{owner}: rates must be >= 0, got rates[{i}] = {rate:g}")
        edges = [0.0, *b]
        cum = [0.0]
        for rate, a, z in zip(r[:-1], edges, edges[1:]):     # the running sum of np.cumsum, term by term
            cum.append(cum[-1] + rate * (z - a))
        self._pieces = (edges, cum, r, [math.exp(-c) for c in cum])
        self._lam_inf = cum[-1] if r[-1] == 0 else math.inf

    # The pieces as numpy arrays, made on first use from the lists (the simulator's form)

    @cached_property
    def breaks(self) -> np.ndarray:
        return self._array(self._pieces[0][1:])

    @cached_property
    def rates(self) -> np.ndarray:
        return self._array(self._pieces[2])

    @cached_property
    def _edges(self) -> np.ndarray:
        return self._array(self._pieces[0])

    @cached_property
    def _cum(self) -> np.ndarray:
        return self._array(self._pieces[1])     # the same running sum np.cumsum would give

    @cached_property
    def _surv_edge(self) -> np.ndarray:
        return self._array(np.exp(-self._cum))

    @staticmethod
    def _array(values) -> np.ndarray:
        a = np.asarray(values, dtype=float)
        a.setflags(write=False)
        return a

    def _setup(self, breaks, rates, edges, cum, surv_edge):
        """The pieces given as numpy arrays (a survival table's)."""
        self.breaks = breaks
        self.rates = rates
        self._edges = edges
        self._cum = cum
        self._surv_edge = surv_edge
        for a in (self._edges, self._cum, self._surv_edge):
            a.setflags(write=False)
        self._pieces = (edges.tolist(), cum.tolist(), rates.tolist(), surv_edge.tolist())
        self._lam_inf = float(cum[-1]) if rates[-1] == 0 else math.inf

    def _index(self, t):
        if type(t) is float:
            edges = self._pieces[0]
            return min(max(bisect.bisect_right(edges, t) - 1, 0), len(edges) - 1)
        k = self._edges.size - 1
        return np.clip(_searchsorted(self._edges, t, "right") - 1, 0, k)

    def _arrays(self, t):
        """(edges, cumulative hazards at them, rates, survival at them): lists for a float t, else arrays."""
        if type(t) is float:
            return self._pieces
        return self._edges, self._cum, self.rates, self._surv_edge

    def _cumhaz(self, t):
        edges, cum, rates, _ = self._arrays(t)
        i = self._index(t)
        out = cum[i] + rates[i] * (t - edges[i])
        xp = _xp(t)
        return xp.where(xp.isposinf(t), self._lam_inf, out)

    def _survival(self, t):
        edges, _, rates, surv_edge = self._arrays(t)
        i = self._index(t)
        xp = _xp(t)
        out = surv_edge[i] * xp.exp(-rates[i] * (t - edges[i]))
        return xp.where(xp.isposinf(t), math.exp(-self._lam_inf), out)

    def _inv_cumhaz(self, x):
        k = self._edges.size - 1
        j = _searchsorted(self._cum, x, "left")  # first knot with Λ >= x
        seg = np.clip(j - 1, 0, k)
        t = self._edges[seg] + (x - self._cum[seg]) / self.rates[seg]  # rate > 0 where used; /0 -> inf
        jj = np.minimum(j, k)
        t = np.where((j <= k) & (self._cum[jj] == x), self._edges[jj], t)  # exact at knots
        return np.where(j == 0, 0.0, t)

    def _hazard(self, t):
        return self._arrays(t)[2][self._index(t)]

    def hazards_at(self, times: Sequence[float]) -> list[float]:
        # hazard_at's steps in one loop: 0 before time 0, nan for nan, else the rate of the piece
        # _index finds (edges start at 0, so for t >= 0 its clipping never applies)
        edges, _, rates, _ = self._pieces
        find = bisect.bisect_right
        out = []
        for t in times:
            t = float(t)
            if t >= 0.0:
                out.append(float(rates[find(edges, t) - 1]))
            else:
                out.append(0.0 if t < 0.0 else math.nan)
        return out

    def _scaled(self, hazard_ratio):
        return PiecewiseExponential(breaks=self.breaks, rates=self.rates * hazard_ratio)

    def _support_start(self):
        pos = np.flatnonzero(self.rates > 0)
        return float(self._edges[pos[0]]) if pos.size else math.inf

    @property
    def cured_fraction(self) -> float:
        return math.exp(-self._lam_inf)

    def _moments(self) -> tuple[float, float]:
        """(E[T], E[T^2]) for a proper curve, integrating S piece by piece."""
        a = self._edges[:-1]
        d = np.diff(self._edges)
        r = self.rates[:-1]
        se = self._surv_edge[:-1]
        with np.errstate(all="ignore"):
            pos = r > 0
            rs = np.where(pos, r, 1.0)
            m1 = np.where(pos, se * -np.expm1(-r * d) / rs, se * d)
            m2 = np.where(pos, se * (a * -np.expm1(-r * d) / rs + _g2(r * d) / rs**2),
                          se * (a * d + d * d / 2.0))
        rk, ak, sk = self.rates[-1], self._edges[-1], self._surv_edge[-1]
        mean = float(m1.sum() + sk / rk)
        ex2 = float(2.0 * (m2.sum() + sk * (ak / rk + 1.0 / rk**2)))
        return mean, ex2

    def mean(self) -> float:
        if self.rates[-1] == 0:
            return math.inf
        return self._moments()[0]

    def variance(self) -> float:
        if self.rates[-1] == 0:
            return math.inf
        m, ex2 = self._moments()
        return max(ex2 - m * m, 0.0)

    def to_spec(self) -> dict:
        return {"piecewise_exponential": {"breaks": self.breaks.tolist(), "rates": self.rates.tolist()}}

    def describe(self) -> str:
        if self.breaks.size > 4:  # long tables (life tables, approximations): a summary
            text = (f"{self.rates.size} pieces to month {_fmt(self.breaks[-1])}, hazard "
                    f"{_fmt(self.rates.min())} to {_fmt(self.rates.max())}/month")
        else:
            parts = [f"{_fmt(r)}/month to month {_fmt(b)}" for r, b in zip(self.rates[:-1], self.breaks)]
            parts.append(("then " if parts else "") + f"{_fmt(self.rates[-1])}/month")
            text = ", ".join(parts)
        tail = _median_text(self)
        if self.cured_fraction > 0:
            tail += f", cured fraction {_fmt(self.cured_fraction)}"
        return f"piecewise exponential({text}; {tail})"

    def _fields(self):
        return {"breaks": self.breaks, "rates": self.rates}


class CureMixture(Curve):
    """S(t) = fraction + (1 - fraction) * S0(t): a share ``fraction`` never has the event."""

    _float_kernels = True

    def __init__(self, fraction: float, curve: Curve):
        f = _number("CureMixture", "fraction", fraction)
        if not 0.0 <= f <= 1.0:
            raise ValueError(f"CureMixture: fraction must be in [0, 1], got {f:g}")
        if not isinstance(curve, Curve):
            raise ValueError(f"CureMixture: curve must be a Curve (use from_spec for a mapping), got {curve!r}")
        self.fraction = f
        self.curve = curve

    # Both directions switch formula at the median of the base curve: through
    # F0 = 1 - S0 (log1p/expm1) where S0 is near 1, through S0 itself where it
    # is small, so that neither loses the small quantity to rounding.

    def _cumhaz(self, t):
        xp = _xp(t)
        f = self.fraction
        lam0 = _inner(self.curve, "cumhaz", t)
        early = -xp.log1p(-(1.0 - f) * -xp.expm1(-lam0))
        late = -xp.log(f + (1.0 - f) * xp.exp(-lam0))
        return xp.where(lam0 < _LN2, early, late)

    def _inv_cumhaz(self, x):
        f = self.fraction
        if f == 1.0:
            return np.where(x > 0, np.inf, 0.0)
        f0 = -np.expm1(-x) / (1.0 - f)  # F0 at the answer
        s0 = (np.exp(-x) - f) / (1.0 - f)  # S0 at the answer
        lam0 = np.where(f0 < 0.5, -np.log1p(-f0), -np.log(np.maximum(s0, 0.0)))
        out = _as_float(self.curve.inv_cumhaz(np.where(s0 <= 0, np.inf, lam0)))
        return np.where(s0 <= 0, np.inf, out)

    def _hazard(self, t):
        if self.fraction == 0.0:
            return _inner(self.curve, "hazard", t)
        xp = _xp(t)
        h0 = _inner(self.curve, "hazard", t)
        s0 = _inner(self.curve, "survival", t)
        f = self.fraction
        out = (1.0 - f) * h0 * s0 / (f + (1.0 - f) * s0)
        return xp.where(s0 == 0, 0.0, out)

    def _support_start(self):
        return math.inf if self.fraction == 1.0 else self.curve._support_start()

    @property
    def cured_fraction(self) -> float:
        return self.fraction + (1.0 - self.fraction) * self.curve.cured_fraction

    def mean(self) -> float:
        if self.fraction > 0:
            return math.inf
        return self.curve.mean()

    def variance(self) -> float:
        if self.fraction > 0:
            return math.inf
        return self.curve.variance()

    def to_spec(self) -> dict:
        return {"cure": {"fraction": self.fraction, "curve": self.curve.to_spec()}}

    def describe(self) -> str:
        return f"cure mixture({_fmt(100 * self.fraction)}% cured, otherwise {self.curve.describe()})"

    def _fields(self):
        return {"fraction": self.fraction, "curve": self.curve}


class Proportional(Curve):
    """Λ(t) = hazard_ratio * Λ0(t), i.e. S = S0 ** hazard_ratio."""

    _float_kernels = True

    def __init__(self, hazard_ratio: float, curve: Curve):
        self.hazard_ratio = _at_least("Proportional", "hazard_ratio", hazard_ratio, 0.0, strict=False)
        if not isinstance(curve, Curve):
            raise ValueError(f"Proportional: curve must be a Curve (use from_spec for a mapping), got {curve!r}")
        self.curve = curve

    def _cumhaz(self, t):
        if self.hazard_ratio == 0.0:
            return _xp(t).zeros_like(t)
        return self.hazard_ratio * _inner(self.curve, "cumhaz", t)

    def _inv_cumhaz(self, x):
        if self.hazard_ratio == 0.0:
            return np.where(x > 0, np.inf, 0.0)
        return _as_float(self.curve.inv_cumhaz(x / self.hazard_ratio))

    def _hazard(self, t):
        if self.hazard_ratio == 0.0:
            return _xp(t).zeros_like(t)
        return self.hazard_ratio * _inner(self.curve, "hazard", t)

    def _scaled(self, hazard_ratio):
        return self.curve._scaled(self.hazard_ratio * hazard_ratio)

    def _support_start(self):
        return math.inf if self.hazard_ratio == 0.0 else self.curve._support_start()

    @property
    def cured_fraction(self) -> float:
        return self.curve.cured_fraction ** self.hazard_ratio

    def _equivalent(self) -> Curve:
        eq = self.curve._scaled(self.hazard_ratio)
        if eq is None:
            raise NotImplementedError(
                f"Proportional: no closed-form moments for a hazard ratio on {type(self.curve).__name__}"
            )
        return eq

    def mean(self) -> float:
        if self.cured_fraction > 0:
            return math.inf
        return self._equivalent().mean()

    def variance(self) -> float:
        if self.cured_fraction > 0:
            return math.inf
        return self._equivalent().variance()

    def to_spec(self) -> dict:
        return {"proportional": {"hazard_ratio": self.hazard_ratio, "curve": self.curve.to_spec()}}

    def describe(self) -> str:
        return f"proportional(hazard ratio {_fmt(self.hazard_ratio)} on {self.curve.describe()})"

    def _fields(self):
        return {"hazard_ratio": self.hazard_ratio, "curve": self.curve}


# --------------------------------------------------------------------------
# Survival tables
# --------------------------------------------------------------------------


def _table_problem(times: np.ndarray, surv: np.ndarray) -> tuple[int, str] | None:
    """First (0-based point index, message) that makes a survival table unusable."""
    t, s = times, surv
    n = t.size
    prev_t = np.concatenate(([-np.inf], t[:-1]))
    prev_s = np.concatenate(([np.inf], s[:-1]))
    with np.errstate(all="ignore"):
        checks = [
            (~np.isfinite(t), lambda i: f"time {t[i]:g} is not a finite number"),
            (t < 0, lambda i: f"time {t[i]:g} is negative"),
            (~np.isfinite(s) | (s < 0) | (s > 1),
             lambda i: f"survival {s[i]:g} is outside [0, 1]"
             + (" (percentages? give proportions)" if 1 < s[i] <= 100 else "")),
            (s == 0, lambda i: "survival 0 cannot be interpolated log-linearly; "
             "use a small positive value (e.g. 1e-6) instead"),
            (t <= prev_t, lambda i: f"time {t[i]:g} is not greater than the previous time "
             f"{prev_t[i]:g} (times must be strictly increasing)"),
            (s > prev_s, lambda i: f"survival {s[i]:g} is greater than the previous survival "
             f"{prev_s[i]:g} (survival must not increase)"),
            ((t == 0) & (s != 1), lambda i: f"survival at time 0 must be 1, got {s[i]:g}"),
        ]
    first: tuple[int, str] | None = None
    best = n
    for mask, message in checks:
        hit = np.flatnonzero(mask)
        if hit.size and hit[0] < best:
            best = int(hit[0])
            first = (best, message(best))
    return first


class TableCurve(PiecewiseExponential):
    """A survival table (e.g. a digitised Kaplan-Meier curve).

    Between table points the survival is log-linear (constant hazard, i.e.
    piecewise exponential); time 0 has survival 1 (prepended when missing).
    After the last point the survival stays flat: the curve has a cured
    fraction equal to the last survival value (no extrapolation).
    """

    def __init__(self, times: Sequence[float], survival: Sequence[float], *, source: str | None = None):
        owner = "TableCurve"
        t = _vector(owner, "times", times)
        s = _vector(owner, "survival", survival)
        if t.size != s.size:
            raise ValueError(f"{owner}: times and survival differ in length ({t.size} vs {s.size})")
        if t.size == 0:
            raise ValueError(f"{owner}: the table is empty")
        problem = _table_problem(t, s)
        if problem is not None:
            i, msg = problem
            raise ValueError(f"{owner}: point {i + 1} (times[{i}]): {msg}")
        if t[0] > 0:
            t = np.concatenate(([0.0], t))
            s = np.concatenate(([1.0], s))
        if t.size < 2:
            raise ValueError(f"{owner}: need at least one point with time > 0")
        for a in (t, s):
            a.setflags(write=False)
        self.table_times = t
        self.table_survival = s
        self.source = source
        lam = -np.log(s)
        lam[0] = 0.0
        rates = np.concatenate((np.diff(lam) / np.diff(t), [0.0]))
        rates = np.maximum(rates, 0.0)  # -0.0 from equal survival values
        rates.setflags(write=False)
        self._setup(t[1:], rates, t.copy(), lam, s.copy())

    def _scaled(self, hazard_ratio):
        return PiecewiseExponential(breaks=self.breaks, rates=self.rates * hazard_ratio)

    def to_spec(self) -> dict:
        return {"table": {"times": self.table_times.tolist(), "survival": self.table_survival.tolist()}}

    def describe(self) -> str:
        src = f"; from {Path(self.source).name}" if self.source else ""
        last_t, last_s = self.table_times[-1], self.table_survival[-1]
        return (f"table({self.table_times.size} points to month {_fmt(last_t)}, survival {_fmt(last_s)} "
                f"there and flat after; {_median_text(self)}{src})")

    def _fields(self):
        return {"times": self.table_times, "survival": self.table_survival}


# --------------------------------------------------------------------------
# Distributions for non-survival times
# --------------------------------------------------------------------------


class Fixed(Curve):
    """A point mass at ``value``: Λ = 0 before value, inf from value on."""

    _float_kernels = True

    def __init__(self, value: float):
        self.value = _at_least("Fixed", "value", value, 0.0, strict=False)

    def _cumhaz(self, t):
        xp = _xp(t)
        return xp.where(t < self.value, 0.0, xp.inf)

    def _inv_cumhaz(self, x):
        return np.full_like(x, self.value)

    def _hazard(self, t):
        xp = _xp(t)
        return xp.where(t < self.value, 0.0, xp.inf)

    def _residual(self, e, s, lam_s):
        return self.value - s

    def _scaled(self, hazard_ratio):
        return self if hazard_ratio > 0 else None

    def _support_start(self):
        return self.value

    def quantile(self, p: Any) -> np.ndarray:
        """``value`` for every p in [0, 1]."""
        p = _as_float(p)
        if np.any((p < 0) | (p > 1)):
            raise ValueError("quantile: p must be in [0, 1]")
        return _ret(np.where(np.isnan(p), np.nan, self.value))

    def sample(self, rng: np.random.Generator, size: Any = None) -> np.ndarray:
        e = _check_rng(rng).standard_exponential(size)  # consumed for common random numbers
        return _ret(np.full_like(e, self.value))

    @property
    def cured_fraction(self) -> float:
        return 0.0

    def mean(self) -> float:
        return self.value

    def variance(self) -> float:
        return 0.0

    def median(self) -> float:
        return self.value

    def to_spec(self) -> float:
        return self.value

    def describe(self) -> str:
        return f"fixed({_fmt(self.value)} months)"

    def _fields(self):
        return {"value": self.value}


class Uniform(Curve):
    """Uniform on [low, high]: Λ(t) = -log(1 - (t - low) / (high - low)) inside."""

    _float_kernels = True

    def __init__(self, low: float, high: float):
        self.low = _at_least("Uniform", "low", low, 0.0, strict=False)
        self.high = _number("Uniform", "high", high)
        if not self.high > self.low:
            raise ValueError(f"Uniform: need low < high, got low = {self.low:g}, high = {self.high:g}")

    def _cumhaz(self, t):
        xp = _xp(t)
        u = (t - self.low) / (self.high - self.low)
        out = -xp.log1p(-xp.clip(u, 0.0, 1.0))
        return xp.where(t < self.low, 0.0, xp.where(t >= self.high, xp.inf, out))

    def _inv_cumhaz(self, x):
        return self.low + (self.high - self.low) * -np.expm1(-x)

    def quantile_of_draws(self, u):
        out = u * (self.high - self.low)
        out += self.low
        return out

    def _hazard(self, t):
        xp = _xp(t)
        return xp.where(t < self.low, 0.0, xp.where(t >= self.high, xp.inf, xp.divide(1.0, self.high - t)))

    def _support_start(self):
        return self.low

    @property
    def cured_fraction(self) -> float:
        return 0.0

    def mean(self) -> float:
        return 0.5 * (self.low + self.high)

    def variance(self) -> float:
        return (self.high - self.low) ** 2 / 12.0

    def median(self) -> float:
        return 0.5 * (self.low + self.high)

    def to_spec(self) -> dict:
        return {"uniform": [self.low, self.high]}

    def describe(self) -> str:
        return f"uniform({_fmt(self.low)} to {_fmt(self.high)} months)"

    def _fields(self):
        return {"low": self.low, "high": self.high}


def piecewise_approximation(curve: Curve, *, horizon: float, pieces: int = 240) -> PiecewiseExponential:
    """A piecewise-exponential curve through ``curve`` at ``pieces`` equal steps up to ``horizon``.

    The approximation has the same cumulative hazard at every break (so the
    same survival there) and a constant hazard between breaks; after the
    horizon it keeps the average hazard of the last step. Used to write a
    curve kind that a scenario cannot read (log-normal, log-logistic) as one it
    can.
    """
    h = _at_least("piecewise_approximation", "horizon", horizon, 0.0, strict=True)
    if int(pieces) < 2:
        raise ValueError("piecewise_approximation: pieces must be at least 2")
    edges = np.linspace(0.0, h, int(pieces) + 1)
    lam = _as_float(curve.cumhaz(edges))
    if not np.all(np.isfinite(lam)):
        raise ValueError("piecewise_approximation: the curve reaches survival 0 before the horizon")
    rates = np.maximum(np.diff(lam) / np.diff(edges), 0.0)
    rates = np.concatenate((rates, rates[-1:]))
    return PiecewiseExponential(breaks=edges[1:], rates=rates)
