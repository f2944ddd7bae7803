"""The recursive numerical integration behind group-sequential boundaries
(Armitage, McPherson & Rowe 1969; Jennison & Turnbull 2000, ch. 19): the
sub-density of the standardised statistic on the continuation region, look
by look, and the bounds and crossing probabilities solved from it."""

from __future__ import annotations

import math

import numpy as np

from trialsim.design.common import _solve, _special


# Jennison & Turnbull's grid constant r: 12 r - 3 grid points per look at most.
# r = 64 puts the integration error near 1e-9 in z (r = 32: about 5e-8; rpact works to 1e-8).
_GRID_R = 64
_WIDE = 40.0   # "infinite" bound in z


def _grid(mu: float, lo: float, hi: float, r: int = _GRID_R) -> tuple[np.ndarray, np.ndarray]:
    """Points and composite Simpson weights on (lo, hi) for a density centred
    at mu (Jennison & Turnbull 2000, section 19.2.1): dense within 3 of mu,
    logarithmically sparser out to mu +- (3 + 4 log r)."""
    i = np.arange(1, 6 * r)
    x = np.where(i < r, mu - 3 - 4 * np.log(r / np.maximum(i, 1)),
                 np.where(i <= 5 * r, mu - 3 + 3 * (i - r) / (2 * r),
                          mu + 3 + 4 * np.log(r / np.maximum(6 * r - i, 1))))
    inside = x[(x > lo) & (x < hi)]
    lo_, hi_ = max(lo, x[0]), min(hi, x[-1])
    pts = np.concatenate([[lo_], inside, [hi_]]) if hi_ > lo_ else np.array([lo_, lo_])
    pts = np.unique(pts)
    if pts.size < 2:
        pts = np.array([lo_, lo_ + 1e-12])
    mids = (pts[:-1] + pts[1:]) / 2
    h = np.diff(pts)
    z = np.empty(2 * pts.size - 1)
    z[0::2], z[1::2] = pts, mids
    w = np.zeros_like(z)
    w[0:-1:2] += h / 6
    w[2::2] += h / 6
    w[1::2] += 4 * h / 6
    return z, w


class _Path:
    """The sub-density of Z_k on the continuation region, stage by stage, for
    a drift theta: h_1(z) = phi(z - theta sqrt(t_1)) and
    h_k(z) = int h_{k-1}(u) sqrt(t_k / D) phi((z sqrt(t_k) - u sqrt(t_{k-1}) - theta D) / sqrt(D)) du,
    D = t_k - t_{k-1} (Armitage, McPherson & Rowe 1969)."""

    def __init__(self, t: np.ndarray, theta: float):
        self.t = t
        self.theta = theta
        self.k = 0           # looks passed
        self.z = None        # grid of the last look passed (continuation region)
        self.wh = None       # weights * density on that grid

    def _args(self, c: float) -> np.ndarray | float:
        """Standardised argument of the next look's bound c, given each grid point."""
        k, t, th = self.k, self.t, self.theta
        if k == 0:
            return c - th * math.sqrt(t[0])
        d = t[k] - t[k - 1]
        return (c * math.sqrt(t[k]) - self.z * math.sqrt(t[k - 1]) - th * d) / math.sqrt(d)

    def above(self, c: float) -> float:
        """P(continue so far, Z_next >= c)."""
        a = self._args(c)
        return float(_special().ndtr(-a)) if self.k == 0 else float(_special().ndtr(-a) @ self.wh)

    def below(self, c: float) -> float:
        """P(continue so far, Z_next <= c)."""
        a = self._args(c)
        return float(_special().ndtr(a)) if self.k == 0 else float(_special().ndtr(a) @ self.wh)

    def mass(self) -> float:
        """P(continue so far)."""
        return 1.0 if self.k == 0 else float(self.wh.sum())

    def advance(self, lo: float, hi: float) -> None:
        """Condition on lo < Z_next < hi and move to the next look."""
        k, t, th = self.k, self.t, self.theta
        mu = th * math.sqrt(t[k])
        z, w = _grid(mu, lo, hi)
        if k == 0:
            dens = np.exp(-0.5 * (z - mu) ** 2) / math.sqrt(2 * math.pi)
        else:
            d = t[k] - t[k - 1]
            arg = (z[:, None] * math.sqrt(t[k]) - self.z[None, :] * math.sqrt(t[k - 1]) - th * d) / math.sqrt(d)
            dens = (np.exp(-0.5 * arg ** 2) / math.sqrt(2 * math.pi)) @ self.wh * math.sqrt(t[k] / d)
        self.z, self.wh = z, w * dens
        self.k += 1


def _efficacy_from_spending(t: np.ndarray, spent: np.ndarray, sided: int) -> np.ndarray:
    """Critical values c_k with P_0(first crossing at k) = spent_k - spent_{k-1}
    (two-sided: crossing |Z_k| >= c_k, symmetric)."""
    path = _Path(t, 0.0)
    out = np.empty(t.size)
    prev = 0.0
    for k in range(t.size):
        target = spent[k] - prev
        if sided == 1:
            f = lambda c: path.above(c) - target  # noqa: E731
        else:
            f = lambda c: path.above(c) + path.below(-c) - target  # noqa: E731
        lo = 0.0 if sided == 2 else -_WIDE
        if target <= 0:
            c = _WIDE
        elif f(lo) <= 0:       # spends more than is left: reject everything that continues
            c = lo
        else:
            c = _solve(f, lo, _WIDE)
        out[k] = c
        prev = spent[k]
        if k < t.size - 1:
            path.advance(-c if sided == 2 else -_WIDE, c)
    return out


def _crossing_probabilities(t: np.ndarray, upper: np.ndarray, lower: np.ndarray, theta: float,
                            two_sided: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """By look: P(exit above upper_k), P(exit below lower_k), P(reach look k).
    Continuation region at look k: (lower_k, upper_k). With two_sided the
    lower exit is a rejection (lower_k = -upper_k); otherwise it is futility."""
    path = _Path(t, theta)
    up, down, reach = np.zeros(t.size), np.zeros(t.size), np.zeros(t.size)
    for k in range(t.size):
        reach[k] = path.mass()
        up[k] = path.above(upper[k])
        down[k] = path.below(lower[k]) if lower[k] > -_WIDE else 0.0
        if k < t.size - 1:
            path.advance(lower[k], upper[k])
    return up, down, reach


def _futility_for_drift(t: np.ndarray, efficacy: np.ndarray, beta_spent: np.ndarray,
                        theta: float) -> tuple[np.ndarray, float]:
    """Futility bounds a_k with P_theta(continue to k, Z_k <= a_k) = beta spent
    at look k, continuation (a_j, b_j) before (non-binding efficacy b_j);
    bounds capped at the efficacy bound. Also returns P_theta(reach the last
    look and not reject), the beta actually left for the final analysis."""
    path = _Path(t, theta)
    fut = np.empty(t.size)
    prev = 0.0
    for k in range(t.size - 1):
        target = beta_spent[k] - prev
        prev = beta_spent[k]
        b = efficacy[k]
        if path.below(b) <= target:
            a = b
        elif path.below(-_WIDE + theta * math.sqrt(t[k])) >= target:
            a = -_WIDE
        else:
            a = _solve(lambda c: path.below(c) - target, -_WIDE + theta * math.sqrt(t[k]), b)
        fut[k] = a
        path.advance(a, b)
    fut[-1] = efficacy[-1]
    return fut, path.below(efficacy[-1])
