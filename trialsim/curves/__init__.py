"""Survival curves and time distributions, vectorised: ``from trialsim.curves import ...``.

The subpackage, one idea per module:

* :mod:`~trialsim.curves.kinds`: the :class:`Curve` base class (everything
  derived from the cumulative hazard and its inverse) and the kinds;
* :mod:`~trialsim.curves.tables`: survival tables read from CSV files;
* :mod:`~trialsim.curves.grammar`: the one curve grammar, plain data (YAML)
  to a Curve, read by :func:`from_spec` and by the scenario loader alike;
* :mod:`~trialsim.curves.references`: reference curves and life tables;
* :mod:`~trialsim.curves.mrd`: the one calibration of the prevalence model,
  its MRD components, and detectable MRD of the lead_time model;
* :mod:`~trialsim.curves.fitting`: fitting curves to data (lifelines);
* :mod:`~trialsim.curves.plots`: drawing curves, fits and populations.

Time is in months, rates are per month; see docs/curves.md.

:func:`fit`, :func:`plot`, :class:`FitError` and :class:`FitReport` load on
first use (PEP 562): fitting brings in lifelines and plots matplotlib, which
a scenario's validation never needs.
"""

import importlib
from trialsim.curves.grammar import CurveSpecError, from_spec
from trialsim.curves.kinds import (
    CureMixture,
    Curve,
    Exponential,
    Fixed,
    LogLogistic,
    LogNormal,
    PiecewiseExponential,
    Proportional,
    TableCurve,
    Uniform,
    Weibull,
    piecewise_approximation,
)
from trialsim.curves.mrd import (
    MrdComponent,
    detectable_mrd_prevalence,
    mrd_components,
    negative_cumhaz,
    negative_survival,
)
from trialsim.curves.references import REFERENCES, Reference, UnknownReferenceError, life_table, reference
from trialsim.curves.tables import CurveDataError, read_table_csv

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
    "negative_survival",
    "negative_cumhaz",
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
    "FitError",
    "FitReport",
    "CurveDataError",
    "CurveSpecError",
    "UnknownReferenceError",
]

_LAZY = {"fit": "trialsim.curves.fitting", "FitError": "trialsim.curves.fitting",
         "FitReport": "trialsim.curves.fitting", "plot": "trialsim.curves.plots"}


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'trialsim.curves' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
