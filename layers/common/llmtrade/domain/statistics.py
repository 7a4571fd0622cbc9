"""Honest statistics over weekly returns (pure, standard library only).

Every estimate comes with its uncertainty: a mean with its t-based 95 % interval, a Sharpe ratio
with the interval of its asymptotic standard error (Lo 2002, iid returns), a rank correlation with
its Fisher-z interval. Comparisons are paired t-tests over the weeks both rows have, and a family
of them is corrected with Holm's step-down method, which keeps the chance of any false positive at
or below the nominal level. Below two observations (or without spread) an estimate is None.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from statistics import NormalDist, fmean, stdev

WEEKS_PER_YEAR = 52
LEVEL = 0.95
MIN_SPREAD = 1e-6  # a weekly spread below this is rounding, not risk
_NORMAL = NormalDist()


# ------------------------------------------------------------------------- Student's t
def _continued_fraction(a: float, b: float, x: float) -> float:
    """The continued fraction of the regularized incomplete beta function (modified Lentz)."""
    tiny, c, d = 1e-300, 1.0, 1.0 - (a + b) * x / (a + 1)
    d = 1 / (d if abs(d) > tiny else tiny)
    result = d
    for m in range(1, 300):
        for numerator in (m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
                          -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))):
            d = 1 + numerator * d
            d = 1 / (d if abs(d) > tiny else tiny)
            c = 1 + numerator / c
            c = c if abs(c) > tiny else tiny
            result *= c * d
        if abs(c * d - 1) < 1e-14:
            break
    return result


def incomplete_beta(a: float, b: float, x: float) -> float:
    """I_x(a, b), the regularized incomplete beta function, for 0 <= x <= 1."""
    if x <= 0 or x >= 1:
        return 0.0 if x <= 0 else 1.0
    log_front = (math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
                 + a * math.log(x) + b * math.log1p(-x))
    if x < (a + 1) / (a + b + 2):
        return math.exp(log_front) * _continued_fraction(a, b, x) / a
    return 1 - math.exp(log_front) * _continued_fraction(b, a, 1 - x) / b


def t_two_sided_p(t: float, df: float) -> float:
    """P(|T| >= |t|) for Student's t with `df` degrees of freedom."""
    return incomplete_beta(df / 2, 0.5, df / (df + t * t))


@lru_cache(maxsize=256)
def t_quantile(probability: float, df: float) -> float:
    """The t value below which `probability` of the distribution lies (0.5 < p < 1), by
    bisection."""
    target = 2 * (1 - probability)  # the two-sided tail mass beyond the quantile
    low, high = 0.0, 1e6
    for _ in range(200):
        middle = (low + high) / 2
        low, high = (middle, high) if t_two_sided_p(middle, df) > target else (low, middle)
    return (low + high) / 2


# ------------------------------------------------------------------------- estimates
@dataclass(frozen=True)
class Interval:
    estimate: float
    low: float
    high: float

    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0


def mean_interval(values: Sequence[float], level: float = LEVEL) -> Interval | None:
    """The mean with its t-based interval; None below 2 values."""
    n = len(values)
    if n < 2:
        return None
    mean, error = fmean(values), stdev(values) / math.sqrt(n)
    half = t_quantile((1 + level) / 2, n - 1) * error
    return Interval(mean, mean - half, mean + half)


def sharpe_interval(weekly: Sequence[float], level: float = LEVEL) -> Interval | None:
    """Annualized Sharpe ratio (mean / stdev x sqrt(52), no risk-free rate: FLAT earns nothing)
    with the interval of its asymptotic standard error sqrt((1 + SR^2 / 2) / n). None when the
    returns barely move (below 0.0001 % a week: cash, whose spread is only rounding)."""
    n = len(weekly)
    if n < 2 or (spread := stdev(weekly)) < MIN_SPREAD:
        return None
    ratio = fmean(weekly) / spread
    half = _NORMAL.inv_cdf((1 + level) / 2) * math.sqrt((1 + ratio * ratio / 2) / n)
    scale = math.sqrt(WEEKS_PER_YEAR)
    return Interval(ratio * scale, (ratio - half) * scale, (ratio + half) * scale)


def sortino(weekly: Sequence[float]) -> float | None:
    """Annualized mean over the downside deviation (root mean square of the losses); None without
    a losing week or below 2 weeks."""
    if len(weekly) < 2:
        return None
    downside = math.sqrt(fmean([min(r, 0.0) ** 2 for r in weekly]))
    return fmean(weekly) / downside * math.sqrt(WEEKS_PER_YEAR) if downside else None


def path_drawdown(path: Sequence[float]) -> float:
    """The deepest fall from a running peak of a value path, as a fraction (>= 0)."""
    peak, deepest = -math.inf, 0.0
    for value in path:
        peak = max(peak, value)
        if peak > 0:
            deepest = max(deepest, (peak - value) / peak)
    return deepest


# ------------------------------------------------------------------------- comparisons
@dataclass(frozen=True)
class Paired:
    """Row a minus row b over the weeks both have: the mean weekly difference and its test."""

    n: int
    difference: Interval | None
    spread: float | None  # the stdev of the weekly differences
    p_value: float | None


def paired_test(a: Sequence[float], b: Sequence[float]) -> Paired:
    """A paired t-test of a - b (same weeks, same order); p None below 2 weeks. A difference
    without spread (identical rows) has p 1 when it is 0."""
    if len(a) != len(b):
        raise ValueError("a paired test needs the same weeks on both sides")
    differences = [x - y for x, y in zip(a, b, strict=True)]
    n = len(differences)
    if n < 2:
        return Paired(n, None, None, None)
    mean, spread = fmean(differences), stdev(differences)
    if spread == 0:
        return Paired(n, Interval(mean, mean, mean), 0.0, 1.0 if mean == 0 else 0.0)
    t = mean / (spread / math.sqrt(n))
    return Paired(n, mean_interval(differences), spread, t_two_sided_p(t, n - 1))


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm-adjusted p-values, in the given order: reject where adjusted p < alpha keeps the
    family-wise error rate at alpha."""
    order = sorted(range(len(p_values)), key=lambda i: p_values[i])
    adjusted = [0.0] * len(p_values)
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (len(p_values) - rank) * p_values[index]))
        adjusted[index] = running
    return adjusted


def weeks_needed(difference: float, spread: float, alpha: float = 0.05,
                 power: float = 0.8) -> int | None:
    """Weeks a paired test needs to detect a true mean weekly `difference` at this spread of
    weekly differences (normal approximation); None without a difference or a spread."""
    if difference == 0 or spread <= 0:
        return None
    z = _NORMAL.inv_cdf(1 - alpha / 2) + _NORMAL.inv_cdf(power)
    return math.ceil((z * spread / difference) ** 2)


# ------------------------------------------------------------------------- rank correlation
def ranks(values: Sequence[float]) -> list[float]:
    """1-based ranks; ties share their average rank."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    result = [0.0] * len(values)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        for position in range(start, end + 1):
            result[order[position]] = (start + end) / 2 + 1
        start = end + 1
    return result


def spearman(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Rank correlation; None below 3 pairs or if a side is flat."""
    if len(xs) != len(ys):
        raise ValueError("spearman needs pairs")
    if len(xs) < 3:
        return None
    rx, ry = ranks(xs), ranks(ys)
    mx, my = fmean(rx), fmean(ry)
    covariance = sum((a - mx) * (b - my) for a, b in zip(rx, ry, strict=True))
    spread = math.sqrt(sum((a - mx) ** 2 for a in rx) * sum((b - my) ** 2 for b in ry))
    return covariance / spread if spread else None


def spearman_interval(xs: Sequence[float], ys: Sequence[float],
                      level: float = LEVEL) -> Interval | None:
    """Spearman's rho with a Fisher-z interval (standard error 1.06 / sqrt(n - 3), Fieller et al.
    1957); None below 4 pairs or without spread."""
    rho = spearman(xs, ys)
    if rho is None or len(xs) < 4:
        return None
    z, half = math.atanh(max(-0.999999, min(0.999999, rho))), (
        _NORMAL.inv_cdf((1 + level) / 2) * 1.06 / math.sqrt(len(xs) - 3))
    return Interval(rho, math.tanh(z - half), math.tanh(z + half))
