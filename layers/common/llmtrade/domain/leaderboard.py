"""The cross-week leaderboard: pure functions over settled weeks (SPEC §5).

A row per PM model, one for the council and one for the FLAT baseline. Money stays Decimal and is
summed from the postmortems, whose P/L is the broker's equity change; returns are ratios (floats),
compounded from each week's return on the equity the account started that week with.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from statistics import fmean, stdev

from pydantic import BaseModel, ConfigDict

from llmtrade.schemas import Postmortem

WEEKS_PER_YEAR = 52
COUNCIL, FLAT = "council", "FLAT"


class LeaderboardRow(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str  # the PM's configured name, "council" or "FLAT"
    model: str | None
    accounts: list[str]
    weeks: int
    cumulative_return: float  # compounded weekly returns, as a fraction (0.012 = +1.2 %)
    total_pnl_usd: Decimal
    hit_rate: float | None  # weeks with P/L > 0 among weeks with a position; None without one
    max_drawdown: float  # the weekly equity curve's deepest fall from its peak, a fraction (>= 0)
    sharpe_like: float | None  # mean weekly return / stdev x sqrt(52); None: < 2 weeks or no spread
    llm_cost_usd: Decimal
    net_pnl_usd: Decimal  # P/L less the LLM cost spent
    net_return: float  # cumulative return less the LLM cost as a fraction of week one's equity


def weekly_return(week: Postmortem) -> float:
    return float(week.pnl / week.equity_start) if week.equity_start else 0.0


def cumulative_return(returns: Sequence[float]) -> float:
    return math.prod(1 + r for r in returns) - 1


def max_drawdown(returns: Sequence[float]) -> float:
    """Of the equity curve 1, (1+r1), (1+r1)(1+r2), ...: the largest (peak - trough) / peak."""
    value = peak = 1.0
    deepest = 0.0
    for r in returns:
        value *= 1 + r
        peak = max(peak, value)
        deepest = max(deepest, (peak - value) / peak)
    return deepest


def hit_rate(weeks: Sequence[Postmortem]) -> float | None:
    positioned = [w for w in weeks if w.instrument is not None and w.conviction != 0]
    return sum(1 for w in positioned if w.pnl > 0) / len(positioned) if positioned else None


def sharpe_like(returns: Sequence[float]) -> float | None:
    if len(returns) < 2 or (spread := stdev(returns)) == 0:
        return None
    return fmean(returns) / spread * math.sqrt(WEEKS_PER_YEAR)


def spearman(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Rank correlation (ties share their average rank); None below 3 pairs or if a side is flat."""
    if len(xs) != len(ys):
        raise ValueError("spearman needs pairs")
    if len(xs) < 3:
        return None
    rx, ry = _ranks(xs), _ranks(ys)
    mx, my = fmean(rx), fmean(ry)
    covariance = sum((a - mx) * (b - my) for a, b in zip(rx, ry, strict=True))
    spread = math.sqrt(sum((a - mx) ** 2 for a in rx) * sum((b - my) ** 2 for b in ry))
    return covariance / spread if spread else None


def _ranks(values: Sequence[float]) -> list[float]:
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        for position in range(start, end + 1):
            ranks[order[position]] = (start + end) / 2 + 1
        start = end + 1
    return ranks


def _group(week: Postmortem) -> str:
    """PM accounts are compared by model; the council and FLAT are one row each, whoever chaired."""
    if week.kind == "flat":
        return FLAT
    if week.kind == "council":
        return COUNCIL
    return week.model or week.account_id


def row(name: str, weeks: Sequence[Postmortem]) -> LeaderboardRow:
    weeks = sorted(weeks, key=lambda w: (w.week_id, w.account_id))
    returns = [weekly_return(w) for w in weeks]
    cumulative = cumulative_return(returns)
    pnl = sum((w.pnl for w in weeks), Decimal(0))
    cost = sum((w.llm_cost_usd for w in weeks), Decimal(0))
    first_equity = weeks[0].equity_start if weeks else Decimal(0)
    return LeaderboardRow(
        name=name, model=weeks[0].model if weeks and weeks[0].kind == "pm" else None,
        accounts=sorted({w.account_id for w in weeks}), weeks=len({w.week_id for w in weeks}),
        cumulative_return=cumulative, total_pnl_usd=pnl, hit_rate=hit_rate(weeks),
        max_drawdown=max_drawdown(returns), sharpe_like=sharpe_like(returns), llm_cost_usd=cost,
        net_pnl_usd=pnl - cost,
        net_return=cumulative - (float(cost / first_equity) if first_equity else 0.0),
    )


def leaderboard(postmortems: Iterable[Postmortem],
                names: Mapping[str, str] | None = None) -> list[LeaderboardRow]:
    """One row per PM model (named by `names`: model id → display name), the council and FLAT;
    best cumulative return first. A (week, account) given twice counts once."""
    unique = {(p.week_id, p.account_id): p for p in postmortems}
    groups: dict[str, list[Postmortem]] = {}
    for week in unique.values():
        groups.setdefault(_group(week), []).append(week)
    rows = [row((names or {}).get(key, key), weeks) for key, weeks in groups.items()]
    return sorted(rows, key=lambda r: (-r.cumulative_return, r.name))
