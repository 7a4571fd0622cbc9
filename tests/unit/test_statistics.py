"""The honest statistics: Student's t, intervals, paired tests, Holm, and the null model (random
PMs over many simulated weeks are called significant at about the nominal rate, no more)."""

from __future__ import annotations

import math
import random
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from llmtrade.domain.evaluation import evaluate
from llmtrade.domain.leaderboard import Outcome, RowKind
from llmtrade.domain.statistics import (
    holm,
    mean_interval,
    paired_test,
    path_drawdown,
    sortino,
    spearman_interval,
    t_quantile,
    t_two_sided_p,
    weeks_needed,
)


@pytest.mark.parametrize(("df", "quantile"), [(1, 12.7062), (2, 4.3027), (7, 2.3646),
                                              (29, 2.0452), (1000, 1.9623)])
def test_t_quantiles_match_the_tables(df: int, quantile: float) -> None:
    assert t_quantile(0.975, df) == pytest.approx(quantile, abs=1e-4)
    assert t_two_sided_p(quantile, df) == pytest.approx(0.05, abs=1e-4)
    assert t_two_sided_p(0.0, df) == pytest.approx(1.0)


def test_the_mean_interval_is_t_based_and_needs_two_values() -> None:
    interval = mean_interval([1.0, 2.0, 3.0, 4.0])
    assert interval is not None and interval.estimate == 2.5
    half = 3.1824 * math.sqrt(5 / 3) / 2
    assert (interval.low, interval.high) == pytest.approx((2.5 - half, 2.5 + half), abs=1e-3)
    assert mean_interval([1.0]) is None


def test_paired_test_sortino_drawdown_and_weeks_needed() -> None:
    test = paired_test([0.02, 0.01, 0.03], [0.0, 0.0, 0.0])
    assert test.n == 3 and test.p_value == pytest.approx(t_two_sided_p(0.02 / (0.01 / 3**0.5), 2))
    assert paired_test([0.01, 0.02], [0.01, 0.02]).p_value == 1.0
    assert sortino([0.01, 0.02]) is None and sortino([0.02, -0.01]) == pytest.approx(
        0.005 / math.sqrt(0.0001 / 2) * math.sqrt(52))
    assert path_drawdown([1.0, 1.2, 0.9, 1.1]) == pytest.approx(0.25)
    # a 1 % weekly spread and a 0.2 % edge: (2.8 x 5)^2 = 196 weeks
    assert weeks_needed(0.002, 0.01) == 197
    with pytest.raises(ValueError):
        paired_test([0.1], [0.1, 0.2])


@given(st.lists(st.floats(min_value=0, max_value=1), min_size=1, max_size=12))
def test_holm_never_lowers_a_p_value_and_keeps_their_order(p_values: list[float]) -> None:
    adjusted = holm(p_values)
    assert all(p <= a <= 1 for p, a in zip(p_values, adjusted, strict=True))
    ordered = sorted(range(len(p_values)), key=lambda i: p_values[i])
    assert [adjusted[i] for i in ordered] == sorted(adjusted)
    assert min(adjusted) == pytest.approx(min(1.0, len(p_values) * min(p_values)))


def test_the_spearman_interval_holds_rho_and_shrinks_with_n() -> None:
    xs = [float(i) for i in range(30)]
    noisy = [x + (7 if i % 3 == 0 else -5) for i, x in enumerate(xs)]
    small, large = spearman_interval(xs[:6], noisy[:6]), spearman_interval(xs, noisy)
    assert small is not None and large is not None
    assert small.low <= small.estimate <= small.high <= 1
    assert large.high - large.low < small.high - small.low
    assert spearman_interval(xs[:3], noisy[:3]) is None


def _random_week(group: str, kind: RowKind, week: int, weekly: float) -> Outcome:
    start = Decimal(100_000)
    pnl = Decimal(str(round(weekly * 100_000, 2)))
    return Outcome(group=group, kind=kind, account_id=group, week_id=f"w{week:03d}",
                   model=None, equity_start=start, equity_end=start + pnl, pnl=pnl,
                   decision_pnl=pnl, carry_pnl=Decimal(0), positioned=True)


def test_null_model_random_pms_are_significant_at_the_nominal_rate() -> None:
    """Four random PMs, a random council and FLAT over 30 simulated weeks, 400 times: each row's
    uncorrected test against FLAT rejects about 5 % of the time, and the Holm-corrected board
    calls anything significant in at most about 5 % of the runs."""
    rng = random.Random(13)
    rejected = tests = boards_with_a_claim = 0
    runs = 400
    rows: list[tuple[str, RowKind]] = [("a", "pm"), ("b", "pm"), ("c", "pm"), ("d", "pm"),
                                       ("council", "council"), ("FLAT", "flat")]
    for _ in range(runs):
        outcomes = [_random_week(name, kind, w, rng.gauss(0, 0.01) if kind != "flat" else 0.0)
                    for w in range(30)
                    for name, kind in rows]
        board = evaluate(outcomes, offline=True)
        against_flat = [c for c in board.comparisons if c.against == "FLAT"]
        tests += len(against_flat)
        rejected += sum(1 for c in against_flat if (c.p_value or 1) < 0.05)
        boards_with_a_claim += any(c.significant for c in board.comparisons)
        assert board.weeks == 30
    assert 0.03 <= rejected / tests <= 0.07
    assert boards_with_a_claim / runs <= 0.08
    assert "Nothing is distinguishable over 30 offline" in board.verdict or any(
        c.significant for c in board.comparisons)
