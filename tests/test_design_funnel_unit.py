"""trialsim.design.funnel: the screening funnel and lead-time staging in closed
form.

Unit tier (see docs/architecture.md, "Validation tiers"): exact expectations,
loop references and argument errors; ``test_property_`` tests are hypothesis
invariants.
"""

from __future__ import annotations

import math

import pytest

from trialsim.design import lead_time_staging, screening_funnel


def test_unit_single_visit_funnel_is_the_yield_times_eligibility():
    from trialsim.screening import expected_yield, positive_predictive_value

    kw = dict(prevalence=0.08, sensitivity=0.88, specificity=0.998, failure=0.05)
    for persistence in ("stationary", "fixed"):
        f = screening_funnel(**kw, staging_ineligible=0.4, consent=0.8, persistence=persistence)
        assert f.test_positive == pytest.approx(expected_yield(0.08, 0.88, 0.998, 0.05), rel=1e-14)
        tp = 0.08 * 0.88 * 0.95
        assert f.eligible == pytest.approx(tp * 0.6 + f.test_positive - tp, rel=1e-14)
        assert f.randomized == pytest.approx(0.8 * f.eligible, rel=1e-14)
        assert f.screened_per_randomized == pytest.approx(1 / f.randomized)
        assert f.assays == pytest.approx(1.0, rel=1e-14)
    assert screening_funnel(**kw).true_positive_share == pytest.approx(positive_predictive_value(0.08, 0.88, 0.998))


def test_unit_multi_visit_funnel_edges():
    f = screening_funnel(prevalence=0.0, sensitivity=0.9, specificity=1.0, visits=4)
    assert f.randomized == 0 and f.assays == 4 and math.isinf(f.screened_per_randomized)
    assert math.isnan(f.true_positive_share)
    g = screening_funnel(prevalence=1.0, sensitivity=1.0, specificity=0.5, failure=0.5, visits=3, persistence="fixed")
    assert g.test_positive == pytest.approx(1 - 0.5 ** 3)
    assert g.assays == pytest.approx(1 + 0.5 + 0.25)
    assert "3 visits" in str(g)


@pytest.mark.parametrize("kwargs, message", [
    (dict(prevalence=1.2), "prevalence"),
    (dict(sensitivity=-0.1), "sensitivity"),
    (dict(visits=0), "visits"),
    (dict(visits=2.5), "visits"),
    (dict(persistence="markov"), "persistence"),
    (dict(consent="all"), "consent"),
])
def test_unit_screening_funnel_argument_errors(kwargs, message):
    base = dict(prevalence=0.1, sensitivity=0.9, specificity=0.99)
    with pytest.raises(ValueError, match=message):
        screening_funnel(**{**base, **kwargs})


def test_unit_lead_time_staging_fixed_lead_time_closed_form():
    lam, mu, L, m = 0.02, 0.001, 12.0, 3.5
    st = lead_time_staging(recurrence_rate=lam, lead_time=L, imaging_lead=3, turnaround=0.5, death_rate=mu,
                           dormant_share=0.1)
    k = lam + mu
    prev = lam / k * (1 - math.exp(-k * L)) + 0.1 * mu / k
    assert st.prevalence == pytest.approx(prev, rel=1e-10)
    assert st.staging_ineligible == pytest.approx(lam / k * (1 - math.exp(-k * m)) / prev, rel=1e-10)
    short = lead_time_staging(recurrence_rate=lam, lead_time=2.0, imaging_lead=3)
    assert short.staging_ineligible == pytest.approx(1.0)


def test_unit_lead_time_staging_argument_errors():
    with pytest.raises(ValueError, match="recurrence_rate"):
        lead_time_staging(recurrence_rate=0, lead_time=10, imaging_lead=3)
    with pytest.raises(ValueError, match="lead_time"):
        lead_time_staging(recurrence_rate=0.01, lead_time="long", imaging_lead=3)
    with pytest.raises(ValueError, match="imaging_lead"):
        lead_time_staging(recurrence_rate=0.01, lead_time=10, imaging_lead=-3)
