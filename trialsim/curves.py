"""Survival curves and time distributions, vectorised.

Every curve has ONE source of truth: its cumulative hazard ``cumhaz`` (Λ) and
the generalised inverse of it, ``inv_cumhaz``. Survival, CDF, quantiles,
sampling (inverse transform of a standard exponential), conditional sampling
and residual times are all derived from those two in :class:`Curve`.

Time is in months, rates are per month. All methods accept scalars or arrays
of any shape and follow numpy's conventions: an array in, an array of the same
shape out; a scalar in, a numpy float64 out. Negative times are treated as
"before anything can happen" (Λ = 0, hazard 0); NaN in gives NaN out.

The YAML form of each kind (``to_spec`` / ``from_spec``) is the "Curves"
section of SCENARIO_FORMAT.md; see also docs/curves.md.
"""

from __future__ import annotations

import abc
import csv
import difflib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import special

__all__ = [
    "Curve",
    "Exponential",
    "Weibull",
    "LogNormal",
    "LogLogistic",
    "PiecewiseExponential",
    "CureMixture",
    "Proportional",
    "TableCurve",
    "Fixed",
    "Uniform",
    "MrdComponent",
    "mrd_components",
    "detectable_mrd_prevalence",
    "piecewise_approximation",
    "Reference",
    "REFERENCES",
    "reference",
    "life_table",
    "read_table_csv",
    "from_spec",
    "fit",
    "plot",
    "CurveDataError",
    "CurveSpecError",
    "UnknownReferenceError",
]

_LN2 = math.log(2.0)


# --------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------


class CurveDataError(ValueError):
    """A survival table (file) is unusable; the message names file and row."""

    def __init__(self, message: str, *, path: str | None = None,
                 row: int | None = None, line: int | None = None):
        super().__init__(message)
        self.path = path
        self.row = row
        self.line = line


class CurveSpecError(ValueError):
    """A curve specification (plain mapping / number) is malformed."""


class UnknownReferenceError(KeyError, ValueError):
    """An unknown reference-curve name; the message suggests close names."""

    def __init__(self, name: str, suggestions: Sequence[str] = ()):
        self.name = name
        self.suggestions = list(suggestions)
        msg = f"unknown reference curve {name!r}"
        if self.suggestions:
            msg += "; did you mean " + " or ".join(repr(s) for s in self.suggestions) + "?"
        msg += " (known: " + ", ".join(sorted(REFERENCES)) + ")"
        super().__init__(msg)

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0])


# --------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------


def _as_float(x: Any) -> np.ndarray:
    return np.asarray(x, dtype=float)


def _ret(a: Any) -> Any:
    """numpy convention: 0-d results come back as numpy scalars."""
    a = np.asarray(a, dtype=float)
    return a[()] if a.ndim == 0 else a


def _number(owner: str, name: str, value: Any, *, allow_inf: bool = False) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{owner}: {name} must be a number, got {value!r}")
    v = float(value)
    if math.isnan(v) or (math.isinf(v) and not allow_inf):
        raise ValueError(f"{owner}: {name} must be a finite number, got {value!r}")
    return v


def _at_least(owner: str, name: str, value: Any, low: float, *, strict: bool) -> float:
    v = _number(owner, name, value)
    if (v <= low) if strict else (v < low):
        raise ValueError(f"{owner}: {name} must be {'>' if strict else '>='} {low:g}, got {v:g}")
    return v


def _vector(owner: str, name: str, values: Any) -> np.ndarray:
    if isinstance(values, (str, bytes, Mapping)) or not isinstance(values, (Sequence, np.ndarray)):
        raise ValueError(f"{owner}: {name} must be a list of numbers, got {values!r}")
    if isinstance(values, np.ndarray) and values.dtype.kind in "iuf" and values.ndim == 1:
        arr = values.astype(float)  # fast path (a copy): validate without a Python loop
        bad = np.flatnonzero(~np.isfinite(arr))
        if bad.size:
            i = int(bad[0])
            raise ValueError(f"{owner}: {name}[{i}] must be a finite number, got {arr[i]:g}")
    else:
        arr = np.asarray([_number(owner, f"{name}[{i}]", v) for i, v in enumerate(values)],
                         dtype=float).reshape(-1)
    arr.setflags(write=False)
    return arr


def _fmt(x: float) -> str:
    if math.isinf(x):
        return "inf"
    return f"{x:.3g}"


def _median_text(curve: "Curve") -> str:
    m = curve.median()
    return "median not reached" if math.isinf(m) else f"median {_fmt(m)} months"


def _check_rng(rng: Any) -> np.random.Generator:
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            "rng must be a numpy.random.Generator (e.g. np.random.default_rng(seed)); "
            f"got {type(rng).__name__}. trialsim never uses the global numpy random state."
        )
    return rng


def _g2(x: np.ndarray) -> np.ndarray:
    """1 - exp(-x) (1 + x), accurate for small x >= 0."""
    x = np.asarray(x, dtype=float)
    series = x * x * (0.5 - x * (1.0 / 3.0 - x * (0.125 - x * (1.0 / 30.0 - x / 144.0))))
    direct = -np.expm1(-x) - x * np.exp(-x)
    return np.where(x < 1e-3, series, direct)


# --------------------------------------------------------------------------
# Base class
# --------------------------------------------------------------------------


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
        return np.exp(-self._cumhaz(t))

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
            return np.zeros_like(t)
        return self.rate * t

    def _inv_cumhaz(self, x):
        if self.rate == 0.0:
            return np.where(x > 0, np.inf, 0.0)
        return x / self.rate

    def _hazard(self, t):
        return np.full_like(t, self.rate)

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
        return (t / self.scale) ** self.shape

    def _inv_cumhaz(self, x):
        return self.scale * x ** (1.0 / self.shape)

    def _hazard(self, t):
        # 0 ** (shape - 1) is inf for shape < 1 (hazard at 0 is infinite), 1 for shape == 1
        return (self.shape / self.scale) * (t / self.scale) ** (self.shape - 1.0)

    def _scaled(self, hazard_ratio):
        if hazard_ratio == 0:
            return None
        return Weibull(scale=self.scale * hazard_ratio ** (-1.0 / self.shape), shape=self.shape)

    @property
    def cured_fraction(self) -> float:
        return 0.0

    def mean(self) -> float:
        return float(self.scale * special.gamma(1.0 + 1.0 / self.shape))

    def variance(self) -> float:
        g1 = special.gamma(1.0 + 1.0 / self.shape)
        g2 = special.gamma(1.0 + 2.0 / self.shape)
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
        return -special.log_ndtr(-self._z(t))

    def _survival(self, t):
        return special.ndtr(-self._z(t))

    def _inv_cumhaz(self, x):
        # z with Φ(-z) = exp(-x): through 1 - exp(-x) where that is small
        # (ndtri of a small probability), through exp(-x) itself otherwise.
        z = np.where(x < _LN2, special.ndtri(-np.expm1(-x)), -special.ndtri_exp(-x))
        return np.exp(self.mu + self.sigma * z)

    def _hazard(self, t):
        z = self._z(t)
        log_pdf_z = -0.5 * z * z - 0.5 * math.log(2.0 * math.pi)
        out = np.exp(log_pdf_z - special.log_ndtr(-z)) / (self.sigma * t)
        return np.where(t == 0, 0.0, np.where(np.isposinf(t), 0.0, out))

    @property
    def cured_fraction(self) -> float:
        return 0.0

    def mean(self) -> float:
        return math.exp(self.mu + 0.5 * self.sigma**2)

    def variance(self) -> float:
        s2 = self.sigma**2
        return math.expm1(s2) * math.exp(2.0 * self.mu + s2)

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

    def __init__(self, alpha: float, beta: float):
        self.alpha = _at_least("LogLogistic", "alpha", alpha, 0.0, strict=True)
        self.beta = _at_least("LogLogistic", "beta", beta, 0.0, strict=True)

    def _cumhaz(self, t):
        return np.log1p((t / self.alpha) ** self.beta)

    def _inv_cumhaz(self, x):
        # (t / alpha) ** beta = expm1(x); in logs for large x, where expm1 overflows
        log_em1 = np.where(x < 1.0, np.log(np.expm1(np.minimum(x, 1.0))), x + np.log1p(-np.exp(-x)))
        return self.alpha * np.exp(log_em1 / self.beta)

    def _hazard(self, t):
        u = t / self.alpha
        with np.errstate(all="ignore"):
            out = (self.beta / self.alpha) * u ** (self.beta - 1.0) / (1.0 + u**self.beta)
            # large t: the ratio is beta / t (0 at inf); at t = 0 it is 0, 1/alpha or inf as for a Weibull
            out = np.where(np.isfinite(out), out, np.where(t > self.alpha, self.beta / t, out))
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

    def __init__(self, breaks: Sequence[float], rates: Sequence[float]):
        owner = "PiecewiseExponential"
        b = _vector(owner, "breaks", breaks)
        r = _vector(owner, "rates", rates)
        if r.size != b.size + 1:
            raise ValueError(
                f"{owner}: need len(rates) == len(breaks) + 1, got {r.size} rates for {b.size} breaks"
            )
        if b.size and b[0] <= 0:
            raise ValueError(f"{owner}: breaks must be > 0, got breaks[0] = {b[0]:g}")
        if b.size > 1:
            bad = np.flatnonzero(np.diff(b) <= 0)
            if bad.size:
                i = int(bad[0]) + 1
                raise ValueError(
                    f"{owner}: breaks must be strictly increasing, got breaks[{i}] = {b[i]:g} "
                    f"after breaks[{i - 1}] = {b[i - 1]:g}"
                )
        neg = np.flatnonzero(r < 0)
        if neg.size:
            i = int(neg[0])
            raise ValueError(f"{owner}: rates must be >= 0, got rates[{i}] = {r[i]:g}")
        edges = np.concatenate(([0.0], b))
        cum = np.concatenate(([0.0], np.cumsum(r[:-1] * np.diff(edges))))
        self._setup(b, r, edges, cum, np.exp(-cum))

    def _setup(self, breaks, rates, edges, cum, surv_edge):
        self.breaks = breaks
        self.rates = rates
        self._edges = edges
        self._cum = cum
        self._surv_edge = surv_edge
        for a in (self._edges, self._cum, self._surv_edge):
            a.setflags(write=False)
        self._lam_inf = float(cum[-1]) if rates[-1] == 0 else math.inf

    def _index(self, t):
        k = self._edges.size - 1
        return np.clip(np.searchsorted(self._edges, t, side="right") - 1, 0, k)

    def _cumhaz(self, t):
        i = self._index(t)
        out = self._cum[i] + self.rates[i] * (t - self._edges[i])
        return np.where(np.isposinf(t), self._lam_inf, out)

    def _survival(self, t):
        i = self._index(t)
        out = self._surv_edge[i] * np.exp(-self.rates[i] * (t - self._edges[i]))
        return np.where(np.isposinf(t), math.exp(-self._lam_inf), out)

    def _inv_cumhaz(self, x):
        k = self._edges.size - 1
        j = np.searchsorted(self._cum, x, side="left")  # first knot with Λ >= x
        seg = np.clip(j - 1, 0, k)
        t = self._edges[seg] + (x - self._cum[seg]) / self.rates[seg]  # rate > 0 where used; /0 -> inf
        jj = np.minimum(j, k)
        t = np.where((j <= k) & (self._cum[jj] == x), self._edges[jj], t)  # exact at knots
        return np.where(j == 0, 0.0, t)

    def _hazard(self, t):
        return self.rates[self._index(t)]

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
        f = self.fraction
        lam0 = _as_float(self.curve.cumhaz(t))
        early = -np.log1p(-(1.0 - f) * -np.expm1(-lam0))
        late = -np.log(f + (1.0 - f) * np.exp(-lam0))
        return np.where(lam0 < _LN2, early, late)

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
            return _as_float(self.curve.hazard(t))
        h0 = _as_float(self.curve.hazard(t))
        s0 = _as_float(self.curve.survival(t))
        f = self.fraction
        out = (1.0 - f) * h0 * s0 / (f + (1.0 - f) * s0)
        return np.where(s0 == 0, 0.0, out)

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

    def __init__(self, hazard_ratio: float, curve: Curve):
        self.hazard_ratio = _at_least("Proportional", "hazard_ratio", hazard_ratio, 0.0, strict=False)
        if not isinstance(curve, Curve):
            raise ValueError(f"Proportional: curve must be a Curve (use from_spec for a mapping), got {curve!r}")
        self.curve = curve

    def _cumhaz(self, t):
        if self.hazard_ratio == 0.0:
            return np.zeros_like(t)
        return self.hazard_ratio * _as_float(self.curve.cumhaz(t))

    def _inv_cumhaz(self, x):
        if self.hazard_ratio == 0.0:
            return np.where(x > 0, np.inf, 0.0)
        return _as_float(self.curve.inv_cumhaz(x / self.hazard_ratio))

    def _hazard(self, t):
        if self.hazard_ratio == 0.0:
            return np.zeros_like(t)
        return self.hazard_ratio * _as_float(self.curve.hazard(t))

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


def _parse_cell(text: str, column: str, where: str, path: str, row: int, line: int) -> float:
    cell = text.strip()
    if not cell:
        raise CurveDataError(f"{where}: {column} is empty", path=path, row=row, line=line)
    try:
        return float(cell)
    except ValueError:
        raise CurveDataError(f"{where}: {column} {cell!r} is not a number", path=path, row=row, line=line) from None


def read_table_csv(path: str | Path) -> TableCurve:
    """Read a survival table from a CSV file with a header naming ``time`` and ``survival``.

    Other columns are ignored; blank lines and lines starting with ``#`` are
    skipped. Any problem raises :class:`CurveDataError` with a one-line
    message naming the file, the 1-based data row and its line number.
    """
    p = Path(path)
    name = str(p)
    try:
        fh = open(p, newline="", encoding="utf-8-sig")
    except FileNotFoundError:
        raise CurveDataError(f"{name}: survival table file not found", path=name) from None
    except OSError as exc:
        raise CurveDataError(f"{name}: cannot read survival table ({exc.strerror or exc})", path=name) from None
    times: list[float] = []
    surv: list[float] = []
    lines: list[int] = []
    with fh:
        reader = csv.reader(fh)

        def records():
            try:
                for fields in reader:
                    if not any(f.strip() for f in fields) or fields[0].lstrip().startswith("#"):
                        continue
                    yield reader.line_num, fields
            except (csv.Error, UnicodeDecodeError) as exc:
                raise CurveDataError(f"{name}, line {reader.line_num + 1}: cannot parse CSV ({exc})",
                                     path=name, line=reader.line_num + 1) from None

        recs = records()
        first = next(recs, None)
        if first is None:
            raise CurveDataError(f"{name}: empty file; expected a header line 'time,survival'", path=name)
        header_line, header_fields = first
        header = [h.strip().lower() for h in header_fields]
        missing = [c for c in ("time", "survival") if c not in header]
        if missing:
            raise CurveDataError(
                f"{name}, line {header_line}: header lacks column(s) {', '.join(repr(m) for m in missing)}; "
                f"a header 'time,survival' is required (found {','.join(header_fields)!r})",
                path=name, line=header_line,
            )
        it, isv = header.index("time"), header.index("survival")
        row = 0
        for line, fields in recs:
            row += 1
            where = f"{name}, data row {row} (line {line})"
            if len(fields) != len(header):
                raise CurveDataError(f"{where}: expected {len(header)} fields like the header, found {len(fields)}",
                                     path=name, row=row, line=line)
            times.append(_parse_cell(fields[it], "time", where, name, row, line))
            surv.append(_parse_cell(fields[isv], "survival", where, name, row, line))
            lines.append(line)
    if not times:
        raise CurveDataError(f"{name}: no data rows after the header", path=name)
    t = np.asarray(times, dtype=float)
    s = np.asarray(surv, dtype=float)
    problem = _table_problem(t, s)
    if problem is not None:
        i, msg = problem
        raise CurveDataError(f"{name}, data row {i + 1} (line {lines[i]}): {msg}",
                             path=name, row=i + 1, line=lines[i])
    try:
        return TableCurve(times=t, survival=s, source=name)
    except ValueError as exc:  # e.g. a lone point at time 0
        raise CurveDataError(f"{name}: {exc}", path=name) from None


# --------------------------------------------------------------------------
# Distributions for non-survival times
# --------------------------------------------------------------------------


class Fixed(Curve):
    """A point mass at ``value``: Λ = 0 before value, inf from value on."""

    def __init__(self, value: float):
        self.value = _at_least("Fixed", "value", value, 0.0, strict=False)

    def _cumhaz(self, t):
        return np.where(t < self.value, 0.0, np.inf)

    def _inv_cumhaz(self, x):
        return np.full_like(x, self.value)

    def _hazard(self, t):
        return np.where(t < self.value, 0.0, np.inf)

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

    def __init__(self, low: float, high: float):
        self.low = _at_least("Uniform", "low", low, 0.0, strict=False)
        self.high = _number("Uniform", "high", high)
        if not self.high > self.low:
            raise ValueError(f"Uniform: need low < high, got low = {self.low:g}, high = {self.high:g}")

    def _cumhaz(self, t):
        u = (t - self.low) / (self.high - self.low)
        out = -np.log1p(-np.clip(u, 0.0, 1.0))
        return np.where(t < self.low, 0.0, np.where(t >= self.high, np.inf, out))

    def _inv_cumhaz(self, x):
        return self.low + (self.high - self.low) * -np.expm1(-x)

    def _hazard(self, t):
        return np.where(t < self.low, 0.0, np.where(t >= self.high, np.inf, 1.0 / (self.high - t)))

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


# --------------------------------------------------------------------------
# MRD: calibrated components (prevalence model), detectable MRD (lead_time model)
# --------------------------------------------------------------------------


def _solve_negative_cumhaz(lam_m: np.ndarray, p: float, h: float) -> np.ndarray:
    """y = Λ_neg with p·exp(-h·y) + (1-p)·exp(-y) = exp(-lam_m), vectorised.

    ψ(y) = log(p·e^{-hy} + (1-p)·e^{-y}) + lam_m is convex and decreasing in y
    with ψ(0) = lam_m >= 0, so Newton's method from y = 0 climbs to the root
    monotonically (each tangent meets zero between the iterate and the root)
    and never overshoots. The log of the mixture is taken through log1p while
    the mixture is near 1 and through logaddexp otherwise, so both the early
    (small Λ) and the far (large Λ) ends keep their precision.
    """
    lam_m = np.asarray(lam_m, dtype=float)
    if p == 0.0:
        return lam_m.copy()
    if p == 1.0:
        return lam_m / h
    log_p, log_q = math.log(p), math.log1p(-p)
    y = np.zeros_like(lam_m)
    finite = np.isfinite(lam_m)
    lm = np.where(finite, lam_m, 0.0)
    for _ in range(200):
        s = p * np.expm1(-h * y) + (1.0 - p) * np.expm1(-y)  # mixture - 1, in (-1, 0]
        log_mix = np.where(s > -0.5, np.log1p(s), np.logaddexp(log_p - h * y, log_q - y))
        psi = log_mix + lm
        # weight of the MRD-positive component in the mixture: ψ'(y) = -(h·w_pos + 1 - w_pos)
        w_pos = special.expit(log_p - log_q - (h - 1.0) * y)
        step = psi / (h * w_pos + (1.0 - w_pos))
        y = y + np.maximum(step, 0.0)
        if np.all(np.abs(step) <= 1e-14 * np.maximum(y, 1e-300)):
            break
    y = np.where(lm == 0.0, 0.0, y)
    return np.where(finite, y, np.inf)


class MrdComponent(Curve):
    """One MRD stratum of the ``prevalence`` model, calibrated to a marginal curve.

    Time is measured from entry, ``time_since_diagnosis`` (tsd) months after
    diagnosis; the marginal curve from entry is m(t) = S(tsd + t) / S(tsd).
    The MRD-negative cumulative hazard y(t) solves

        p·exp(-h·y(t)) + (1 - p)·exp(-y(t)) = m(t)

    (p the prevalence at entry, h the MRD hazard ratio), and the MRD-positive
    one is h·y(t): MRD-positive survivors have h times the hazard of the
    MRD-negative ones at every time, and the mixture at entry reproduces the
    marginal curve exactly. This is the calibration of ``trialsim.cohort``
    (``Baseline``), written independently; the tests compare the two.

    Use :func:`mrd_components` to build the pair. A component has no YAML form
    of its own: a scenario gets it from its ``mrd`` block (prevalence,
    hazard_ratio), so ``to_spec`` raises.
    """

    def __init__(self, marginal: Curve, *, prevalence: float, hazard_ratio: float,
                 time_since_diagnosis: float = 0.0, status: str = "negative"):
        owner = "MrdComponent"
        if not isinstance(marginal, Curve):
            raise ValueError(f"{owner}: marginal must be a Curve, got {marginal!r}")
        p = _number(owner, "prevalence", prevalence)
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"{owner}: prevalence must be in [0, 1], got {p:g}")
        self.marginal = marginal
        self.prevalence = p
        self.hazard_ratio = _at_least(owner, "hazard_ratio", hazard_ratio, 0.0, strict=True)
        self.time_since_diagnosis = _at_least(owner, "time_since_diagnosis", time_since_diagnosis, 0.0,
                                              strict=False)
        if status not in ("negative", "positive"):
            raise ValueError(f"{owner}: status must be 'negative' or 'positive', got {status!r}")
        self.status = status
        self._lam0 = float(marginal.cumhaz(self.time_since_diagnosis))
        if math.isinf(self._lam0):
            raise ValueError(f"{owner}: the marginal curve has survival 0 at time_since_diagnosis "
                             f"{self.time_since_diagnosis:g}; nobody is left to calibrate")
        self._mult = self.hazard_ratio if status == "positive" else 1.0

    def _marginal_cumhaz(self, t):
        """Λ_m(t) = Λ(tsd + t) - Λ(tsd), the marginal cumulative hazard from entry."""
        tsd = self.time_since_diagnosis
        out = _as_float(self.marginal.cumhaz(tsd + t)) - self._lam0
        return np.where(t == 0, 0.0, np.maximum(out, 0.0))

    def _cumhaz(self, t):
        y = _solve_negative_cumhaz(self._marginal_cumhaz(t), self.prevalence, self.hazard_ratio)
        return self._mult * y

    def _inv_cumhaz(self, x):
        # closed form: at Λ_neg = y the marginal survival is p e^{-hy} + (1-p) e^{-y};
        # t is where the marginal curve from entry reaches it
        p, h = self.prevalence, self.hazard_ratio
        y = x / self._mult
        s = p * np.expm1(-h * y) + (1.0 - p) * np.expm1(-y)
        lam_m = np.where(s > -0.5, -np.log1p(s),
                         -np.logaddexp(math.log(p) - h * y if p > 0 else -np.inf,
                                       math.log1p(-p) - y if p < 1 else -np.inf))
        tsd = self.time_since_diagnosis
        t = _as_float(self.marginal.inv_cumhaz(self._lam0 + lam_m)) - tsd
        return np.maximum(t, 0.0)

    def _hazard(self, t):
        # differentiate the calibration identity: λ_neg = λ_m·m / (p·h·u^h + (1-p)·u), u = e^{-y}
        p, h = self.prevalence, self.hazard_ratio
        tsd = self.time_since_diagnosis
        lam_m = self._marginal_cumhaz(t)
        y = _solve_negative_cumhaz(lam_m, p, h)
        hm = _as_float(self.marginal.hazard(tsd + t))
        # m / (p h u^h + (1-p) u) = 1 / (h w_pos + 1 - w_pos), w_pos = p u^h / m the
        # MRD-positive share among those still recurrence-free
        w_pos = special.expit(np.log(p) - np.log1p(-p) - (h - 1.0) * y)
        ratio = 1.0 / (h * w_pos + (1.0 - w_pos))
        return self._mult * hm * ratio

    def _support_start(self):
        start = self.marginal._support_start() - self.time_since_diagnosis
        return max(start, 0.0)

    @property
    def cured_fraction(self) -> float:
        lam_inf = float(self.marginal.cumhaz(np.inf)) - self._lam0
        y = float(_solve_negative_cumhaz(np.asarray(lam_inf), self.prevalence, self.hazard_ratio))
        return math.exp(-self._mult * y)

    def to_spec(self) -> Any:
        raise NotImplementedError(
            "a calibrated MRD component has no YAML form: in a scenario it comes from the mrd block "
            "(model: prevalence, prevalence, hazard_ratio) and the stratum's recurrence curve")

    def describe(self) -> str:
        return (f"MRD-{self.status} component at entry (prevalence {_fmt(self.prevalence)}, hazard ratio "
                f"{_fmt(self.hazard_ratio)}, {_fmt(self.time_since_diagnosis)} months after diagnosis) of "
                f"{self.marginal.describe()}")

    def _fields(self):
        return {"marginal": self.marginal, "prevalence": self.prevalence, "hazard_ratio": self.hazard_ratio,
                "time_since_diagnosis": self.time_since_diagnosis, "status": self.status}


def mrd_components(curve: Curve, *, prevalence: float, hazard_ratio: float,
                   time_since_diagnosis: float = 0.0) -> tuple[MrdComponent, MrdComponent]:
    """(MRD-positive, MRD-negative) curves of the ``prevalence`` model, time from entry.

    ``curve`` is the stratum's marginal recurrence curve (time from diagnosis);
    survivors enter ``time_since_diagnosis`` months after diagnosis,
    recurrence-free, MRD-positive with probability ``prevalence``, and the
    MRD-positive hazard is ``hazard_ratio`` times the MRD-negative one. The
    pair satisfies, for every t >= 0,

        prevalence·S_pos(t) + (1 - prevalence)·S_neg(t) = S(tsd + t) / S(tsd).
    """
    kw = dict(prevalence=prevalence, hazard_ratio=hazard_ratio, time_since_diagnosis=time_since_diagnosis)
    return (MrdComponent(curve, status="positive", **kw), MrdComponent(curve, status="negative", **kw))


def _distribution_nodes(dist: Any, nodes: int) -> np.ndarray:
    """Midpoint quantiles of a time distribution (a number gives itself)."""
    if isinstance(dist, Fixed):
        return np.array([dist.value])
    if isinstance(dist, Curve):
        u = (np.arange(nodes) + 0.5) / nodes
        return _as_float(dist.quantile(u))
    return np.array([_number("time_since_diagnosis", "value", dist)])


def detectable_mrd_prevalence(curve: Curve, lead_time: Curve, t: Any, *, dormant_share: float = 0.0,
                              time_since_diagnosis: Any = 0.0, nodes: int = 2000) -> np.ndarray:
    """Share of survivors with detectable MRD at time t after entry (``lead_time`` model).

    MRD is detectable on [T_R - L, T_R), T_R the recurrence time from entry
    (drawn from ``curve`` conditional on being recurrence-free at entry,
    ``time_since_diagnosis`` months after diagnosis) and L ~ ``lead_time``,
    independent of T_R; a share ``dormant_share`` of the never-recurring
    survivors carries detectable MRD throughout. Assuming no death from other
    causes (so "never recurring" means cured, T_R = inf):

        P(T_R - L <= t < T_R) + d·P(T_R = inf)
            = E_L[m(t) - m(t + L)] + d·m(inf),   m(t) = S(tsd + t) / S(tsd),

    because T_R - L <= t < T_R means T_R in (t, t + L]. The share counts every
    survivor who entered (those who recurred before t are not detectable, they
    are in neither term). The expectation over L (and over
    ``time_since_diagnosis`` when it is a distribution) is a midpoint rule in
    probability with ``nodes`` points; the error is far below Monte Carlo
    error for any practical number of draws.
    """
    t = _as_float(t)
    lead = _distribution_nodes(lead_time, nodes)
    tsds = _distribution_nodes(time_since_diagnosis, max(nodes // 10, 50))
    d = _number("detectable_mrd_prevalence", "dormant_share", dormant_share)
    out = np.zeros(t.shape)
    for s in tsds:
        lam0 = float(curve.cumhaz(s))
        m_t = np.exp(lam0 - _as_float(curve.cumhaz(s + t)))
        m_tl = np.exp(lam0 - _as_float(curve.cumhaz(s + t[..., None] + lead)))
        m_inf = math.exp(lam0 - float(curve.cumhaz(np.inf)))
        out += m_t - m_tl.mean(axis=-1) + d * m_inf
    return _ret(out / tsds.size)


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


# --------------------------------------------------------------------------
# Reference curves
# --------------------------------------------------------------------------

_DATA = Path(__file__).resolve().parent / "data"


@dataclass(frozen=True)
class Reference:
    """A named curve shipped with trialsim, with its provenance."""

    name: str
    curve: Curve
    source: str
    note: str


def _load_reference_data() -> dict:
    import yaml  # a dependency of trialsim; imported here so that `import trialsim.curves` stays light

    with open(_DATA / "references.yaml", encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def _late_risk_curve(risk: float, start: float, end: float) -> tuple[PiecewiseExponential, float]:
    """Hazard 0 before ``start``, then constant with cumulative risk ``risk`` from start to end."""
    rate = -math.log1p(-risk) / (end - start)
    return PiecewiseExponential(breaks=[start], rates=[0.0, rate]), rate


def _pan2017(data: dict) -> list[Reference]:
    start, end = map(float, data["window"])
    out = []
    for group, risk in data["risk"].items():
        curve, rate = _late_risk_curve(risk, start, end)
        note = (
            f"Distant recurrence, time from diagnosis, ER-positive early breast cancer, original TN "
            f"status {group}, in women recurrence-free after 5 years of scheduled endocrine therapy "
            f"that then stopped. Published risk of distant recurrence from year 5 to year 20: "
            f"{risk:.0%}, at a near-constant yearly rate. Modelled as a constant hazard from month 60, "
            f"-log(1 - {risk:g})/180 = {rate:.6f}/month, so the risk from month 60 to 240 is exactly "
            f"{risk:.0%}; beyond month 240 the same hazard is extrapolated. The hazard before month 60 "
            f"is NOT modelled and set to 0: the curve is only meaningful conditional on being "
            f"recurrence-free at 60 months, so simulations must condition on time_since_diagnosis >= 60."
        )
        out.append(Reference(f"pan2017/{group}", curve, " ".join(data["source"].split()), note))
    return out


def _cts5(data: dict) -> list[Reference]:
    start, end = map(float, data["window"])
    out = []
    for group, risk in data["risk"].items():
        low, high = data["band"][group]
        if not low <= risk <= high:  # guards the data file against a value outside its published band
            raise ValueError(f"references.yaml: cts5 {group} risk {risk} is outside its band [{low}, {high}]")
        curve, rate = _late_risk_curve(risk, start, end)
        band = f"below {high:.0%}" if low == 0 else (f"above {low:.0%}" if high == 1 else f"{low:.0%} to {high:.0%}")
        note = (
            f"Distant recurrence, time from diagnosis, ER-positive breast cancer, CTS5 {group}-risk group "
            f"(published band: distant recurrence in years 5 to 10 {band}), in women distant-recurrence-free "
            f"after 5 years of endocrine therapy. Risk used from year 5 to year 10: {risk:.1%} "
            f"({' '.join(data['choice'][group].split())}). Modelled as a constant hazard from month 60, "
            f"-log(1 - {risk:g})/60 = {rate:.6f}/month; beyond month 120 the same hazard is extrapolated "
            f"(a steady late rate, as Pan 2017 found for years 5 to 20; CTS5 itself says nothing past "
            f"year 10). The hazard before month 60 is NOT modelled and set to 0: the curve is only "
            f"meaningful conditional on being recurrence-free at 60 months, so simulations must condition "
            f"on time_since_diagnosis >= 60."
        )
        out.append(Reference(f"cts5/{group}", curve, " ".join(data["source"].split()), note))
    return out


def _braun2005(data: dict) -> list[Reference]:
    irr = float(data["incidence_rate_ratio"])
    base = data["baseline_assumption"]
    start, end = map(float, base["window"])
    negative = Exponential.from_cumulative(base["risk"], end - start)
    positive = Proportional(hazard_ratio=irr, curve=negative)
    source = " ".join(data["source"].split())
    common = (
        f"Distant recurrence, time from diagnosis, stage I-III breast cancer, by bone-marrow "
        f"micrometastasis (DTC) at diagnosis. From Braun 2005: DTC in {data['prevalence']:.1%} of "
        f"patients and an incidence-rate ratio of {irr:g} for distant-disease-free survival over "
        f"10 years, read as a constant hazard ratio. ASSUMPTION, not from Braun 2005: the DTC-negative "
        f"baseline, a constant hazard with a {base['risk']:.0%} risk over {end - start:g} months "
        f"({negative.rate:.6f}/month). For another baseline write "
        f"{{proportional: {{hazard_ratio: {irr:g}, curve: YOUR_CURVE}}}}; for the prevalence model use "
        f"mrd: {{model: prevalence, prevalence: ..., hazard_ratio: {irr:g}}}."
    )
    return [
        Reference("braun2005/dtc_negative", negative, source,
                  common + " This curve: DTC-negative (the assumed baseline)."),
        Reference("braun2005/dtc_positive", positive, source,
                  common + f" This curve: DTC-positive, {irr:g} times the DTC-negative hazard."),
    ]


def _read_qx(path: Path) -> dict[int, float]:
    rows = [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines()]
    rows = [r for r in rows if r and not r.startswith("#")]
    if rows[0] != "age,qx":
        raise ValueError(f"{path}: expected the header 'age,qx'")
    return {int(a): float(q) for a, q in (r.split(",") for r in rows[1:])}


_LIFE_TABLES: dict[str, tuple[dict[int, float], str]] = {}


def life_table(age: float, *, table: str = "ssa2020_female") -> PiecewiseExponential:
    """Other-cause death, time from entry at ``age`` (years), from a shipped period life table.

    The yearly death probability q_x of the table applies as a constant hazard
    -log(1 - q_x)/12 per month through each year of age x; after the table's
    last age its hazard continues unchanged. All-cause mortality (a life table
    does not separate causes), so slightly high as "other-cause" death.
    """
    if table not in _LIFE_TABLES:
        raise ValueError(f"life_table: unknown table {table!r} (known: {', '.join(sorted(_LIFE_TABLES))})")
    qx, _ = _LIFE_TABLES[table]
    first, last = min(qx), max(qx)
    a = _number("life_table", "age", age)
    if not first <= a <= last:
        raise ValueError(f"life_table: age must be in [{first}, {last}] for {table}, got {a:g}")
    ages = np.arange(math.floor(a), last + 1)
    rates = np.array([-math.log1p(-qx[int(x)]) / 12.0 for x in ages])
    breaks = (ages[1:] - a) * 12.0
    keep = breaks > 0
    rates = np.concatenate((rates[:-1][keep], rates[-1:]))
    return PiecewiseExponential(breaks=breaks[keep], rates=rates)


def _ssa2020_female(data: dict) -> list[Reference]:
    qx = _read_qx(_DATA / data["table"])
    source = " ".join(data["source"].split())
    _LIFE_TABLES["ssa2020_female"] = (qx, source)
    out = []
    for age in data["entry_ages"]:
        curve = life_table(age, table="ssa2020_female")
        note = (
            f"Death from any cause of a woman aged {age} at entry, time from entry. Yearly death "
            f"probabilities q_x of the US SSA 2020 period life table (female) at ages {age} to {max(qx)}, "
            f"each as a constant hazard -log(1 - q_x)/12 per month through that year of age; after age "
            f"{max(qx)} the hazard of age {max(qx)} continues. A period table: the mortality of calendar "
            f"year 2020 (including the first COVID-19 year), not of a birth cohort. All causes, breast "
            f"cancer included, so slightly high as other-cause death. q_{age} = {qx[age]:g}."
        )
        out.append(Reference(f"ssa2020/female_age{age}", curve, source, note))
    return out


def _build_references() -> dict[str, Reference]:
    data = _load_reference_data()
    refs = [*_pan2017(data["pan2017"]), *_cts5(data["cts5"]), *_braun2005(data["braun2005"]),
            *_ssa2020_female(data["ssa2020_female"])]
    return {r.name: r for r in refs}


REFERENCES: dict[str, Reference] = _build_references()


def reference(name: str) -> Curve:
    """The curve of a named reference (see ``REFERENCES``)."""
    if not isinstance(name, str):
        raise UnknownReferenceError(repr(name))
    try:
        return REFERENCES[name].curve
    except KeyError:
        lowered = {k.lower(): k for k in REFERENCES}
        close = difflib.get_close_matches(name.lower(), list(lowered), n=3, cutoff=0.6)
        raise UnknownReferenceError(name, [lowered[c] for c in close]) from None


# --------------------------------------------------------------------------
# Specs (the YAML form)
# --------------------------------------------------------------------------

_KINDS = ("exponential", "weibull", "lognormal", "loglogistic", "piecewise_exponential", "cure",
          "proportional", "table", "reference", "uniform")


def _spec_fail(where: str, message: str) -> CurveSpecError:
    return CurveSpecError(f"{where}: {message}")


def _spec_mapping(body: Any, where: str, allowed: Sequence[str]) -> Mapping:
    if not isinstance(body, Mapping):
        raise _spec_fail(where, f"expected a mapping with keys {', '.join(allowed)}, got {body!r}")
    unknown = [k for k in body if k not in allowed]
    if unknown:
        hint = ""
        close = difflib.get_close_matches(str(unknown[0]), list(allowed), n=1)
        if close:
            hint = f" (did you mean {close[0]!r}?)"
        raise _spec_fail(where, f"unknown key {unknown[0]!r}{hint}; allowed: {', '.join(allowed)}")
    return body


def _spec_num(body: Mapping, key: str, where: str) -> float:
    if key not in body:
        raise _spec_fail(where, f"missing {key!r}")
    v = body[key]
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.integer, np.floating)):
        raise _spec_fail(where, f"{key} must be a number, got {v!r}")
    return float(v)


def _spec_list(body: Mapping, key: str, where: str) -> list:
    if key not in body:
        raise _spec_fail(where, f"missing {key!r}")
    v = body[key]
    if isinstance(v, (str, bytes, Mapping)) or not isinstance(v, (Sequence, np.ndarray)):
        raise _spec_fail(where, f"{key} must be a list of numbers, got {v!r}")
    return list(v)


def _construct(where: str, factory, *args, **kwargs) -> Curve:
    try:
        return factory(*args, **kwargs)
    except (CurveSpecError, CurveDataError, UnknownReferenceError):
        raise
    except ValueError as exc:
        raise _spec_fail(where, str(exc)) from None


def _build(spec: Any, base_dir: Path | None, where: str) -> Curve:
    if isinstance(spec, Curve):
        return spec
    if isinstance(spec, (bool, np.bool_)):
        raise _spec_fail(where, f"expected a curve mapping or a number, got {spec!r}")
    if isinstance(spec, (int, float, np.integer, np.floating)):
        return _construct(where, Fixed, value=float(spec))
    if not isinstance(spec, Mapping):
        raise _spec_fail(where, f"expected a curve mapping with one key ({', '.join(_KINDS)}) "
                                f"or a number, got {spec!r}")
    if len(spec) != 1:
        raise _spec_fail(where, f"a curve is a mapping with exactly one key ({', '.join(_KINDS)}), "
                                f"got {len(spec)} keys: {', '.join(map(str, spec))}")
    kind, body = next(iter(spec.items()))
    w = f"{where}.{kind}" if where != "curve" else str(kind)

    if kind == "exponential":
        b = _spec_mapping(body, w, ("rate", "median", "cumulative", "at"))
        given = [k for k in ("rate", "median", "cumulative") if k in b]
        if len(given) != 1:
            raise _spec_fail(w, "give exactly one of rate, median, or cumulative with at"
                             + (f" (got {', '.join(given)})" if given else ""))
        if "at" in b and given != ["cumulative"]:
            raise _spec_fail(w, "'at' only goes with 'cumulative'")
        if given == ["rate"]:
            return _construct(w, Exponential, rate=_spec_num(b, "rate", w))
        if given == ["median"]:
            return _construct(w, Exponential.from_median, _spec_num(b, "median", w))
        if "at" not in b:
            raise _spec_fail(w, "'cumulative' needs 'at' (the time at which it is reached)")
        return _construct(w, Exponential.from_cumulative, _spec_num(b, "cumulative", w), _spec_num(b, "at", w))

    if kind == "weibull":
        b = _spec_mapping(body, w, ("scale", "median", "shape"))
        shape = _spec_num(b, "shape", w)
        given = [k for k in ("scale", "median") if k in b]
        if len(given) != 1:
            raise _spec_fail(w, "give exactly one of scale or median (with shape)"
                             + (f" (got {', '.join(given)})" if given else ""))
        if given == ["scale"]:
            return _construct(w, Weibull, scale=_spec_num(b, "scale", w), shape=shape)
        return _construct(w, Weibull.from_median, _spec_num(b, "median", w), shape)

    if kind == "lognormal":
        b = _spec_mapping(body, w, ("mu", "median", "sigma"))
        sigma = _spec_num(b, "sigma", w)
        given = [k for k in ("mu", "median") if k in b]
        if len(given) != 1:
            raise _spec_fail(w, "give exactly one of mu or median (with sigma)"
                             + (f" (got {', '.join(given)})" if given else ""))
        if given == ["mu"]:
            return _construct(w, LogNormal, mu=_spec_num(b, "mu", w), sigma=sigma)
        return _construct(w, LogNormal.from_median, _spec_num(b, "median", w), sigma)

    if kind == "loglogistic":
        b = _spec_mapping(body, w, ("alpha", "median", "beta"))
        beta = _spec_num(b, "beta", w)
        given = [k for k in ("alpha", "median") if k in b]
        if len(given) != 1:
            raise _spec_fail(w, "give exactly one of alpha or median (they are the same: the median), with beta"
                             + (f" (got {', '.join(given)})" if given else ""))
        return _construct(w, LogLogistic, alpha=_spec_num(b, given[0], w), beta=beta)

    if kind == "piecewise_exponential":
        b = _spec_mapping(body, w, ("breaks", "rates"))
        return _construct(w, PiecewiseExponential, breaks=_spec_list(b, "breaks", w),
                          rates=_spec_list(b, "rates", w))

    if kind == "cure":
        b = _spec_mapping(body, w, ("fraction", "curve"))
        if "curve" not in b:
            raise _spec_fail(w, "missing 'curve'")
        inner = _build(b["curve"], base_dir, f"{w}.curve")
        return _construct(w, CureMixture, fraction=_spec_num(b, "fraction", w), curve=inner)

    if kind == "proportional":
        b = _spec_mapping(body, w, ("hazard_ratio", "curve"))
        if "curve" not in b:
            raise _spec_fail(w, "missing 'curve'")
        inner = _build(b["curve"], base_dir, f"{w}.curve")
        return _construct(w, Proportional, hazard_ratio=_spec_num(b, "hazard_ratio", w), curve=inner)

    if kind == "table":
        b = _spec_mapping(body, w, ("file", "times", "survival"))
        if "file" in b:
            if "times" in b or "survival" in b:
                raise _spec_fail(w, "give either 'file' or inline 'times' and 'survival', not both")
            f = b["file"]
            if not isinstance(f, (str, Path)) or not str(f):
                raise _spec_fail(w, f"file must be a path, got {f!r}")
            path = Path(f)
            if not path.is_absolute() and base_dir is not None:
                path = Path(base_dir) / path
            return read_table_csv(path)
        if "times" not in b or "survival" not in b:
            raise _spec_fail(w, "give 'file', or both 'times' and 'survival'")
        return _construct(w, TableCurve, times=_spec_list(b, "times", w), survival=_spec_list(b, "survival", w))

    if kind == "reference":
        if not isinstance(body, str):
            raise _spec_fail(w, f"expected a reference name such as 'pan2017/T2N1-3', got {body!r}")
        return reference(body)

    if kind == "uniform":
        if isinstance(body, Mapping):
            b = _spec_mapping(body, w, ("low", "high"))
            low, high = _spec_num(b, "low", w), _spec_num(b, "high", w)
        else:
            if isinstance(body, (str, bytes)) or not isinstance(body, (Sequence, np.ndarray)) or len(body) != 2:
                raise _spec_fail(w, f"expected [low, high], got {body!r}")
            b = {"low": body[0], "high": body[1]}
            low, high = _spec_num(b, "low", w), _spec_num(b, "high", w)
        return _construct(w, Uniform, low=low, high=high)

    close = difflib.get_close_matches(str(kind), _KINDS, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise _spec_fail(where, f"unknown curve kind {kind!r}{hint} (known: {', '.join(_KINDS)}, or a number)")


def from_spec(spec: Any, *, base_dir: str | Path | None = None) -> Curve:
    """Build a curve (or distribution) from its SCENARIO_FORMAT.md form.

    ``spec`` is a one-key mapping such as ``{"exponential": {"median": 24}}``,
    a plain number (a :class:`Fixed` value) or a Curve (returned as is).
    Table files are read relative to ``base_dir`` (the current directory when
    None). Malformed specs raise :class:`CurveSpecError` (a ValueError) whose
    message names the place in the spec, e.g. ``cure.curve.weibull: missing
    'shape'``; table files raise :class:`CurveDataError`, unknown reference
    names :class:`UnknownReferenceError`.
    """
    return _build(spec, Path(base_dir) if base_dir is not None else None, "curve")


# --------------------------------------------------------------------------
# Fitting and plotting live in trialsim.fitting (lifelines, matplotlib);
# imported on first use so that `import trialsim.curves` stays light.
# --------------------------------------------------------------------------


def fit(data: Any, **kwargs: Any):
    """Fit survival models to data; see :func:`trialsim.fitting.fit`."""
    from trialsim.fitting import fit as _fit

    return _fit(data, **kwargs)


def plot(what: Any, **kwargs: Any):
    """Draw curves (and data); see :func:`trialsim.fitting.plot`."""
    from trialsim.fitting import plot as _plot

    return _plot(what, **kwargs)
