"""The cross-week leaderboard: pure functions over settled weeks (SPEC §5).

A row per PM model, one for the council and one for the FLAT baseline, and one per virtual account
(benchmarks and shadow councils, never traded). Money stays Decimal and is summed from the settled
weeks, whose P/L is the broker's equity change (decision + carry, to the cent); returns are ratios
(floats) on the equity the account started the week with. What a row is judged on is its decision
return: this week's trade from its entry, not last week's position closing at the open. The
statistics and the verdict on them live in `domain.evaluation`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import accumulate
from statistics import fmean
from typing import Literal

from pydantic import BaseModel, ConfigDict

from llmtrade.domain.statistics import (
    Interval,
    mean_interval,
    path_drawdown,
    sharpe_interval,
    sortino,
    spearman,
)
from llmtrade.schemas import AccountKind, Postmortem, VirtualWeek

__all__ = [
    "COUNCIL",
    "FLAT",
    "LeaderboardRow",
    "Outcome",
    "RowKind",
    "cumulative_return",
    "leaderboard",
    "max_drawdown",
    "outcome_of",
    "row",
    "spearman",
    "virtual_outcome",
    "weekly_return",
]

COUNCIL, FLAT = "council", "FLAT"
RowKind = Literal["pm", "council", "flat", "benchmark", "shadow"]


@dataclass(frozen=True)
class Outcome:
    """One settled account-week, real or virtual, as the leaderboard reads it."""

    group: str  # the row it belongs to: a PM's model, "council", "FLAT" or a virtual account's id
    kind: RowKind
    account_id: str
    week_id: str
    model: str | None
    equity_start: Decimal
    equity_end: Decimal
    pnl: Decimal
    decision_pnl: Decimal
    carry_pnl: Decimal
    positioned: bool  # held a trade this week (not FLAT)
    cost_usd: Decimal = Decimal(0)  # model and research cost charged to this row this week
    marks: tuple[Decimal, ...] = field(default=())  # equity at each checkpoint moment
    traded_usd: Decimal = Decimal(0)
    gross_exposure_usd: Decimal = Decimal(0)

    @property
    def decision_return(self) -> float:
        return float(self.decision_pnl / self.equity_start) if self.equity_start else 0.0

    @property
    def total_return(self) -> float:
        return float(self.pnl / self.equity_start) if self.equity_start else 0.0


class LeaderboardRow(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)

    name: str  # the PM's configured name, "council", "FLAT" or the virtual account's id
    kind: RowKind
    virtual: bool  # a benchmark or shadow: marked from market data, never sent to a broker
    model: str | None
    accounts: list[str]
    weeks: int
    mean_weekly_return: float | None  # of the decision returns; None below 2 weeks
    ci95: list[float] | None  # t-based 95 % interval of that mean, [low, high]
    sharpe: float | None  # annualized, of the decision returns
    sharpe_ci95: list[float] | None
    sortino: float | None
    max_drawdown: float  # deepest fall of the equity path through every checkpoint mark
    turnover: float  # mean weekly traded value / starting equity
    avg_gross_exposure: float  # mean position value at entry / starting equity
    cost_per_week_usd: Decimal  # model + research cost charged to the row, per week
    net_weekly_return: float | None  # mean decision return less the cost as a return
    decision_pnl_usd: Decimal
    carry_pnl_usd: Decimal
    total_pnl_usd: Decimal  # decision + carry: the broker's equity change
    cumulative_return: float  # compounded weekly (total) returns
    hit_rate: float | None  # decision P/L > 0 among weeks with a position; None without one
    llm_cost_usd: Decimal  # every cost charged to the row (model and research)
    net_pnl_usd: Decimal  # P/L less that cost


def weekly_return(week: Postmortem) -> float:
    return float(week.pnl / week.equity_start) if week.equity_start else 0.0


def cumulative_return(returns: Sequence[float]) -> float:
    return math.prod(1 + r for r in returns) - 1


def max_drawdown(returns: Sequence[float]) -> float:
    """Of the equity curve 1, (1+r1), (1+r1)(1+r2), ...: the largest (peak - trough) / peak."""
    return path_drawdown(list(accumulate(returns, lambda value, r: value * (1 + r), initial=1.0)))


def _equity_path(weeks: Sequence[Outcome]) -> list[float]:
    """The account's value through every checkpoint mark and settlement, week after week (each
    week's marks scaled onto the value the week started at)."""
    value, path = 1.0, [1.0]
    for week in weeks:
        if not week.equity_start:
            continue
        path += [value * float(m / week.equity_start) for m in week.marks]
        value *= float(week.equity_end / week.equity_start)
        path.append(value)
    return path


def _group_of(week: Postmortem) -> tuple[str, RowKind]:
    """PM accounts are compared by model; the council and FLAT are one row each, whoever
    chaired."""
    if week.kind is AccountKind.FLAT:
        return FLAT, "flat"
    if week.kind is AccountKind.COUNCIL:
        return COUNCIL, "council"
    return week.model or week.account_id, "pm"


def outcome_of(week: Postmortem, cost_usd: Decimal | None = None) -> Outcome:
    group, kind = _group_of(week)
    return Outcome(
        group=group, kind=kind, account_id=week.account_id, week_id=week.week_id,
        model=week.model if kind == "pm" else None, equity_start=week.equity_start,
        equity_end=week.equity_end, pnl=week.pnl, decision_pnl=week.decision_pnl,
        carry_pnl=week.carry_pnl, positioned=week.instrument is not None and week.conviction != 0,
        cost_usd=week.llm_cost_usd if cost_usd is None else cost_usd,
        marks=tuple(week.checkpoint_equity), traded_usd=week.traded_usd,
        gross_exposure_usd=week.gross_exposure_usd)


def virtual_outcome(week: VirtualWeek) -> Outcome:
    """A benchmark's or shadow's week: no carry (it starts flat), no cost (no model call)."""
    return Outcome(
        group=week.account_id, kind=week.kind, account_id=week.account_id, week_id=week.week_id,
        model=None, equity_start=week.equity_start, equity_end=week.equity_end, pnl=week.pnl,
        decision_pnl=week.pnl, carry_pnl=Decimal(0), positioned=bool(week.legs),
        marks=tuple(week.checkpoint_equity), traded_usd=week.traded_usd,
        gross_exposure_usd=week.gross_exposure_usd)


_Amount = Callable[[Outcome], Decimal]


def _total(weeks: Sequence[Outcome], amount: _Amount) -> Decimal:
    return sum((amount(w) for w in weeks), Decimal(0))


def _ratio(weeks: Sequence[Outcome], amount: _Amount) -> float:
    """The mean share of the starting equity that `amount` is, over weeks that had equity."""
    shares = [float(amount(w) / w.equity_start) for w in weeks if w.equity_start]
    return fmean(shares) if shares else 0.0


def _estimate(interval: Interval | None) -> float | None:
    return interval.estimate if interval else None


def _bounds(interval: Interval | None) -> list[float] | None:
    return [interval.low, interval.high] if interval else None


def _net_of_cost(mean: Interval | None, cost_return: float) -> float | None:
    return mean.estimate - cost_return if mean else None


def _hit_rate(weeks: Sequence[Outcome]) -> float | None:
    positioned = [w for w in weeks if w.positioned]
    if not positioned:
        return None
    return sum(1 for w in positioned if w.decision_pnl > 0) / len(positioned)


def _kind_and_model(weeks: Sequence[Outcome]) -> tuple[RowKind, str | None]:
    return (weeks[0].kind, weeks[0].model) if weeks else ("pm", None)


def row(name: str, weeks: Sequence[Outcome]) -> LeaderboardRow:
    weeks = sorted(weeks, key=lambda w: (w.week_id, w.account_id))
    decision = [w.decision_return for w in weeks]
    mean, sharpe = mean_interval(decision), sharpe_interval(decision)
    cost, pnl = _total(weeks, lambda w: w.cost_usd), _total(weeks, lambda w: w.pnl)
    kind, model = _kind_and_model(weeks)
    return LeaderboardRow(
        name=name, kind=kind, virtual=kind in ("benchmark", "shadow"), model=model,
        accounts=sorted({w.account_id for w in weeks}), weeks=len({w.week_id for w in weeks}),
        mean_weekly_return=_estimate(mean), ci95=_bounds(mean),
        sharpe=_estimate(sharpe), sharpe_ci95=_bounds(sharpe),
        sortino=sortino(decision), max_drawdown=path_drawdown(_equity_path(weeks)),
        turnover=_ratio(weeks, lambda w: w.traded_usd),
        avg_gross_exposure=_ratio(weeks, lambda w: w.gross_exposure_usd),
        cost_per_week_usd=cost / len(weeks) if weeks else Decimal(0),
        net_weekly_return=_net_of_cost(mean, _ratio(weeks, lambda w: w.cost_usd)),
        decision_pnl_usd=_total(weeks, lambda w: w.decision_pnl),
        carry_pnl_usd=_total(weeks, lambda w: w.carry_pnl), total_pnl_usd=pnl,
        cumulative_return=cumulative_return([w.total_return for w in weeks]),
        hit_rate=_hit_rate(weeks), llm_cost_usd=cost, net_pnl_usd=pnl - cost,
    )


def rank_key(r: LeaderboardRow) -> tuple[float, str]:
    """Best mean weekly decision return first; rows without one (a single week) by cumulative."""
    mean = r.mean_weekly_return if r.mean_weekly_return is not None else r.cumulative_return
    return -mean, r.name


def rows_of(outcomes: Iterable[Outcome], names: Mapping[str, str] | None = None
            ) -> list[LeaderboardRow]:
    """One row per group (named by `names`: model id → display name); a (week, account) given
    twice counts once."""
    unique = {(o.week_id, o.account_id): o for o in outcomes}
    groups: dict[str, list[Outcome]] = {}
    for week in unique.values():
        groups.setdefault(week.group, []).append(week)
    rows = [row((names or {}).get(key, key), weeks) for key, weeks in groups.items()]
    return sorted(rows, key=rank_key)


def leaderboard(postmortems: Iterable[Postmortem],
                names: Mapping[str, str] | None = None) -> list[LeaderboardRow]:
    """The rows of the real accounts' settled weeks, each charged its own model cost."""
    return rows_of((outcome_of(p) for p in postmortems), names)
