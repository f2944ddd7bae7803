"""The Monte Carlo tolerance every theory and peer test uses."""
from __future__ import annotations


def within(estimate, truth, se, k=4.0):
    """Assert that a simulated estimate lies within ``k`` Monte Carlo standard
    errors of its analytic (or peer) value; the message gives the gap in SE."""
    assert abs(estimate - truth) <= k * se, f"{estimate} vs {truth}: {abs(estimate - truth) / se:.2f} SE"
