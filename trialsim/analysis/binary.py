"""Tests of a binary endpoint, MRD clearance: Fisher's exact test and the
Cochran-Mantel-Haenszel test over strata.  They take arrays of counts, one
table per replicate (and stratum), not patient-level arrays."""

from __future__ import annotations

import numpy as np

from trialsim.analysis.results import CMHResult, FisherResult, _z_from_p


def _counts(x, name: str) -> np.ndarray:
    a = np.asarray(x)
    if a.dtype.kind == "f":
        if not np.all(np.isfinite(a)) or np.any(a != np.round(a)):
            raise ValueError(f"{name} must hold whole counts")
    elif a.dtype.kind not in "iub":
        raise ValueError(f"{name} must be an array of counts, got dtype {a.dtype}")
    a = a.astype(np.int64)
    if np.any(a < 0):
        raise ValueError(f"{name} must be >= 0")
    return a


def _binary_tables(successes_t, n_t, successes_c, n_c):
    a, nt, c, nc = (_counts(x, name) for x, name in (
        (successes_t, "successes_treatment"), (n_t, "n_treatment"),
        (successes_c, "successes_control"), (n_c, "n_control")))
    try:
        a, nt, c, nc = np.broadcast_arrays(a, nt, c, nc)
    except ValueError as exc:
        raise ValueError("count arrays do not broadcast") from exc
    if np.any(a > nt) or np.any(c > nc):
        raise ValueError("successes cannot exceed the number of patients")
    return a, nt, c, nc


def _vector_binary_search(fn, target, lo, hi):
    """scipy's ``_binary_search_for_binom_tst`` for arrays: per element, the
    ``i`` in [lo, hi] with ``fn(i) <= target < fn(i + 1)`` (``fn`` ascending on
    the range), by the same steps so ties resolve identically."""
    lo = lo.copy()
    hi = hi.copy()
    result = np.zeros_like(lo)
    found = np.zeros(lo.shape, dtype=bool)
    while True:
        active = ~found & (lo < hi)
        if not active.any():
            break
        mid = lo + (hi - lo) // 2
        val = fn(np.where(active, mid, lo))
        less = active & (val < target)
        more = active & (val > target)
        hit = active & ~less & ~more
        lo = np.where(less, mid + 1, lo)
        hi = np.where(more, mid - 1, hi)
        result = np.where(hit, mid, result)
        found |= hit
    rest = ~found
    if rest.any():
        val = fn(lo)
        result = np.where(rest, np.where(val <= target, lo, lo - 1), result)
    return result


def fisher_exact(successes_treatment, n_treatment, successes_control, n_control, *,
                 alternative="greater") -> FisherResult:
    """Fisher's exact test per replicate (arrays of length R, or scalars).

    The table of replicate r is ``[[s_t, n_t - s_t], [s_c, n_c - s_c]]``
    (rows treatment, control; columns cleared, not cleared), and the p-values
    are those of ``scipy.stats.fisher_exact(table, alternative)``, computed
    with the same hypergeometric functions for all replicates at once:
    ``p_greater`` (treatment clears more) and ``p_two_sided`` (scipy's
    definition: the tables no more probable than the observed one, with a
    relative tolerance of 1e-14).  A table with an empty row or column has p =
    1.  ``alternative`` ("greater" or "two-sided") chooses ``pvalue``; both are
    always available through ``p_value(sided)``.
    """
    if alternative not in ("greater", "two-sided"):
        raise ValueError(f"alternative must be 'greater' or 'two-sided', got {alternative!r}")
    a, nt, c, nc = _binary_tables(successes_treatment, n_treatment, successes_control, n_control)
    shape = a.shape
    a, nt, c, nc = (np.atleast_1d(x).ravel() for x in (a, nt, c, nc))
    b = nt - a
    d = nc - c
    big_m = nt + nc
    col = a + c  # cleared, both arms
    degenerate = (nt == 0) | (nc == 0) | (col == 0) | (col == big_m)
    from scipy import stats  # deferred: scipy.stats costs a quarter of a second at start-up
    hyper = stats.hypergeom

    with np.errstate(divide="ignore", invalid="ignore"):
        odds = np.where((c > 0) & (b > 0), (a * d) / np.where((c > 0) & (b > 0), c * b, 1), np.inf)
    odds = np.where(degenerate, np.nan, odds)

    p_greater = np.asarray(hyper.cdf(b, big_m, nt, b + d), dtype=np.float64)

    # two-sided, as scipy: find the other tail's boundary by binary search
    mode = ((col + 1) * (nt + 1) / (big_m + 2)).astype(np.int64)
    pexact = hyper.pmf(a, big_m, nt, col)
    pmode = hyper.pmf(mode, big_m, nt, col)
    eps = 1e-14
    gamma = 1.0 + eps
    with np.errstate(invalid="ignore"):
        at_mode = np.abs(pexact - pmode) / np.maximum(pexact, pmode) <= eps
    below = a < mode
    p_two = np.ones(a.shape)

    low = ~degenerate & ~at_mode & below
    if low.any():
        plower = hyper.cdf(a, big_m, nt, col)
        stop = hyper.pmf(col, big_m, nt, col) > pexact * gamma

        def neg_pmf(x):
            return -hyper.pmf(x, big_m, nt, col)

        guess = _vector_binary_search(neg_pmf, -pexact * gamma, mode, col)
        val = np.where(stop, plower, plower + hyper.sf(guess, big_m, nt, col))
        p_two = np.where(low, val, p_two)
    high = ~degenerate & ~at_mode & ~below
    if high.any():
        pupper = hyper.sf(a - 1, big_m, nt, col)
        stop = hyper.pmf(0, big_m, nt, col) > pexact * gamma

        def pmf(x):
            return hyper.pmf(x, big_m, nt, col)

        guess = _vector_binary_search(pmf, pexact * gamma, np.zeros_like(mode), mode)
        val = np.where(stop, pupper, pupper + hyper.cdf(guess, big_m, nt, col))
        p_two = np.where(high, val, p_two)
    p_two = np.minimum(p_two, 1.0)
    p_greater = np.where(degenerate, 1.0, p_greater)

    with np.errstate(invalid="ignore", divide="ignore"):
        share_t = a / np.where(nt > 0, nt, 1) + np.where(nt > 0, 0.0, np.nan)
        share_c = c / np.where(nc > 0, nc, 1) + np.where(nc > 0, 0.0, np.nan)
    res = [x.reshape(shape) if shape else x for x in (p_greater, p_two, odds, share_t, share_c)]
    return FisherResult(z=_z_from_p(res[0]), p_greater=res[0], p_two_sided=res[1], odds_ratio=res[2],
                        share_treatment=res[3], share_control=res[4], alternative=alternative)


def cmh(successes_treatment, n_treatment, successes_control, n_control, *, correct=True) -> CMHResult:
    """Cochran-Mantel-Haenszel test of clearance across strata.

    Arrays ``(R, K)`` (K strata; ``(K,)`` is one replicate) of the cleared and
    measured patients per arm.  Per stratum ``k`` with ``N_k`` patients,
    ``m_k`` cleared: ``E a_k = n_tk m_k / N_k``, ``V_k = n_tk n_ck m_k (N_k -
    m_k) / (N_k**2 (N_k - 1))``; ``D = sum_k (a_k - E a_k)``, ``V = sum_k
    V_k``; ``chi2 = (|D| - 0.5)**2 / V`` with the continuity correction (R's
    ``mantelhaen.test`` default; the 0.5 is not subtracted when ``|D| <
    0.5``), ``z = sign(D) sqrt(chi2)``.  Strata with fewer than two patients
    contribute nothing (R refuses them).  The Mantel-Haenszel odds ratio
    ``sum a_k d_k / N_k / sum b_k c_k / N_k`` with its Robins-Breslow-Greenland
    95% interval, as R.
    """
    a, nt, c, nc = _binary_tables(successes_treatment, n_treatment, successes_control, n_control)
    if a.ndim == 1:
        a, nt, c, nc = (x[np.newaxis, :] for x in (a, nt, c, nc))
    if a.ndim != 2:
        raise ValueError(f"cmh takes (R, K) arrays of counts (replicates x strata), got {a.ndim}-D")
    a, nt, c, nc = (x.astype(np.float64) for x in (a, nt, c, nc))
    b = nt - a
    d = nc - c
    big_n = nt + nc
    m = a + c
    use = big_n >= 2.0
    safe_n = np.where(use, big_n, 2.0)
    expected = nt * m / safe_n
    var_k = nt * nc * m * (safe_n - m) / (safe_n * safe_n * (safe_n - 1.0))
    delta = np.where(use, a - expected, 0.0).sum(axis=1)
    var = np.where(use, var_k, 0.0).sum(axis=1)
    yates = np.where(correct & (np.abs(delta) >= 0.5), 0.5, 0.0)
    has = var > 0.0
    chi2 = np.where(has, (np.abs(delta) - yates) ** 2 / np.where(has, var, 1.0), 0.0)
    z = np.sign(delta) * np.sqrt(chi2)

    # Mantel-Haenszel odds ratio and Robins-Breslow-Greenland interval (R's code)
    def tot(x):
        return np.where(use, x, 0.0).sum(axis=1)

    with np.errstate(divide="ignore", invalid="ignore"):
        s_diag = tot(a * d / safe_n)
        s_offd = tot(b * c / safe_n)
        odds = s_diag / s_offd
        n2 = safe_n * safe_n
        sd = np.sqrt(tot((a + d) * a * d / n2) / (2.0 * s_diag**2)
                     + tot(((a + d) * b * c + (b + c) * a * d) / n2) / (2.0 * s_diag * s_offd)
                     + tot((b + c) * b * c / n2) / (2.0 * s_offd**2))
        # deferred: scipy.special costs 0.2-0.3 s of start-up, which a run without this test does without
        from scipy import special

        q = float(special.ndtri(0.975))
        ci_low = odds * np.exp(-q * sd)
        ci_high = odds * np.exp(q * sd)
    return CMHResult(z=z, chi2=chi2, variance=var, odds_ratio=odds, ci_low=ci_low, ci_high=ci_high,
                     correct=bool(correct))
