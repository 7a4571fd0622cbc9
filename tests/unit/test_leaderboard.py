"""Leaderboard math on hand-made postmortems (SPEC §5)."""

from __future__ import annotations

import math
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from llmtrade.domain.calendar import ET
from llmtrade.domain.leaderboard import (
    cumulative_return,
    leaderboard,
    max_drawdown,
    spearman,
)
from llmtrade.domain.statistics import sharpe_interval
from llmtrade.schemas import Direction, Postmortem

WEEKS = ["2026-11-04", "2026-11-11", "2026-11-18", "2026-11-25"]


def week(week_id: str, account_id: str, start: str, end: str, *, kind: str = "pm",
         model: str | None = "m/gpt", conviction: int = 1, cost: str = "0") -> Postmortem:
    pnl = Decimal(end) - Decimal(start)
    return Postmortem(
        week_id=week_id, account_id=account_id, kind=kind, model=model,
        settled_at=datetime(2026, 12, 2, 8, 0, tzinfo=ET), equity_start=Decimal(start),
        equity_end=Decimal(end),
        pnl=pnl, pnl_pct=float(pnl / Decimal(start) * 100), pnl_vs_flat=pnl,
        instrument="SPY" if conviction else None,
        direction=(Direction.LONG if conviction > 0
                   else Direction.SHORT if conviction < 0 else Direction.FLAT),
        conviction=conviction, final_conviction=conviction, indicators_fired=[],
        invalidation_fired=False,
        thesis_played_out=None, review_score=None, llm_cost_usd=Decimal(cost),
    )


def chain(account_id: str, equities: list[str], **kwargs: Any) -> list[Postmortem]:
    """Consecutive weeks whose equity runs through `equities` (each week ends where the next
    starts)."""
    return [week(WEEKS[i], account_id, equities[i], equities[i + 1], **kwargs)
            for i in range(len(equities) - 1)]


def test_returns_compound_and_pnl_sums_to_the_equity_change() -> None:
    [row] = leaderboard(chain("pm-gpt", ["100000", "110000", "99000"], cost="1.25"))
    assert row.weeks == 2 and row.total_pnl_usd == Decimal("-1000")
    assert row.cumulative_return == pytest.approx(-0.01)  # +10 % then -10 % is -1 %, not 0
    assert row.llm_cost_usd == Decimal("2.50") and row.net_pnl_usd == Decimal("-1002.50")
    assert row.mean_weekly_return == pytest.approx(0.0)  # +10 % and -10 %
    assert row.net_weekly_return == pytest.approx(0 - (1.25 / 100000 + 1.25 / 110000) / 2)
    assert row.cost_per_week_usd == Decimal("1.25")
    assert cumulative_return([]) == 0


def test_max_drawdown_is_the_deepest_fall_from_a_peak() -> None:
    assert max_drawdown([0.1, -0.1, -0.1, 0.5]) == pytest.approx((1.1 - 1.1 * 0.9 * 0.9) / 1.1)
    assert max_drawdown([0.01, 0.02]) == 0
    # a loss in the first week is a drawdown from the start
    assert max_drawdown([-0.05]) == pytest.approx(0.05)
    [row] = leaderboard(chain("pm-gpt", ["100000", "110000", "99000", "89100", "133650"]))
    assert row.max_drawdown == pytest.approx(0.19)


def test_hit_rate_counts_only_weeks_with_a_position() -> None:
    weeks = [week(WEEKS[0], "pm-gpt", "100000", "100500"),
             week(WEEKS[1], "pm-gpt", "100500", "100500", conviction=0),  # FLAT: not a bet
             week(WEEKS[2], "pm-gpt", "100500", "100400", conviction=-2),
             # a position that made nothing: a miss
             week(WEEKS[3], "pm-gpt", "100400", "100400", conviction=1)]
    [row] = leaderboard(weeks)
    assert row.hit_rate == pytest.approx(1 / 3)
    [flat] = leaderboard(chain("flat", ["100000", "100000", "100000"], kind="flat", model=None,
                               conviction=0))
    assert flat.hit_rate is None and flat.total_pnl_usd == 0 and flat.sharpe is None


def test_sharpe_annualizes_mean_over_stdev_with_an_interval() -> None:
    sharpe = sharpe_interval([0.01, 0.03])
    assert sharpe is not None
    weekly = 0.02 / math.sqrt(2 * 0.01**2)
    assert sharpe.estimate == pytest.approx(weekly * math.sqrt(52))
    half = 1.959964 * math.sqrt((1 + weekly**2 / 2) / 2) * math.sqrt(52)
    assert (sharpe.low, sharpe.high) == pytest.approx((sharpe.estimate - half,
                                                       sharpe.estimate + half))
    assert sharpe_interval([0.01]) is None  # one week says nothing about spread
    assert sharpe_interval([0.01, 0.01]) is None
    [row] = leaderboard(chain("pm-gpt", ["100000", "101000", "104030"]))
    assert row.sharpe == pytest.approx(sharpe.estimate)


def test_rows_per_model_council_and_flat_best_first() -> None:
    rows = leaderboard(
        chain("pm-gpt", ["100000", "101000", "102000"])
        + chain("pm-claude", ["100000", "99000", "98000"], model="anthropic/claude")
        # the chairman is also a PM model: the council is its own row all the same
        + chain("council", ["100000", "100500", "100600"], kind="council", model="anthropic/claude")
        + chain("flat", ["100000", "100000", "100000"], kind="flat", model=None, conviction=0),
        names={"m/gpt": "GPT-5.1", "anthropic/claude": "Claude"},
    )
    assert [r.name for r in rows] == ["GPT-5.1", "council", "FLAT", "Claude"]
    assert [r.accounts for r in rows] == [["pm-gpt"], ["council"], ["flat"], ["pm-claude"]]
    assert rows[0].model == "m/gpt" and rows[1].model is None
    assert [r.total_pnl_usd for r in rows] == [Decimal(2000), Decimal(600), Decimal(0),
                                               Decimal(-2000)]


def test_a_week_given_twice_counts_once() -> None:
    weeks = chain("pm-gpt", ["100000", "101000"])
    [row] = leaderboard(weeks + weeks)
    assert row.weeks == 1 and row.total_pnl_usd == Decimal(1000)
    assert leaderboard([]) == []


def test_spearman_rank_correlation() -> None:
    assert spearman([1, 2, 3, 4], [10, 20, 30, 45]) == pytest.approx(1.0)  # monotonic, not linear
    assert spearman([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    # ties share their average rank: x ranks 1.5, 1.5, 3 against y ranks 1, 2, 3
    assert spearman([5, 5, 7], [1, 2, 3]) == pytest.approx(0.8660254)
    assert spearman([1, 2], [1, 2]) is None  # too few PMs to say anything
    assert spearman([4, 4, 4], [1, 2, 3]) is None  # equal scores cannot predict anything
