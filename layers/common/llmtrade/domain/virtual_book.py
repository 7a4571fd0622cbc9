"""A virtual account's week: benchmarks and shadow councils, marked from market data (pure).

Never sent to a broker. The book enters its legs at the weekly run's next fill moment, marks its
equity at each checkpoint moment, applies the same checkpoint rules as the real accounts
(`checkpoint_rules.decide`) to the legs that carry a conviction, sizes them like the real ones
(`sizing.target_shares` at the weekly run's price, no buying-power check), and is valued at the
settlement. Prices are the market data's (the mid for the simulator): a virtual fill pays no
spread, which flatters the virtual rows by about a spread per trade. A virtual week starts with no
position, so all its P/L is decision P/L.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from llmtrade.domain.checkpoint_rules import CheckpointFacts, decide
from llmtrade.domain.indicators import read
from llmtrade.domain.sizing import target_shares
from llmtrade.schemas import Indicator, Position

CENT = Decimal("0.01")
Price = Callable[[str, datetime], Decimal]


@dataclass(frozen=True)
class Leg:
    """A position the book holds: fixed shares (a benchmark), or a conviction sized on a risk
    budget and managed at every checkpoint (a shadow's trade)."""

    symbol: str
    shares: int = 0  # signed, for a fixed leg
    conviction: int = 0  # non-zero: a managed leg
    budget_usd: float = 0.0
    indicators: tuple[Indicator, ...] = ()


@dataclass(frozen=True)
class Moments:
    run: datetime  # the weekly run: sizing and week-return indicators read its prices
    entry: datetime  # the next fill moment after the run
    checkpoints: tuple[datetime, ...]
    settlement: datetime


@dataclass(frozen=True)
class Rules:
    stop_loss_pct: float
    reduce_loss_pct: float


@dataclass(frozen=True)
class BookWeek:
    equity_end: Decimal
    marks: list[Decimal]  # equity at each checkpoint moment between entry and settlement
    traded_usd: Decimal
    gross_usd: Decimal  # the position's value at entry


@dataclass
class _Held:
    leg: Leg
    shares: int
    conviction: int
    entry_price: Decimal = Decimal(0)


def _money(value: Decimal) -> Decimal:
    return value.quantize(CENT, ROUND_HALF_UP)


def _sized(leg: Leg, conviction: int, price: Price, moments: Moments) -> int:
    if not leg.conviction:
        return leg.shares
    return target_shares(conviction, leg.budget_usd, price(leg.symbol, moments.run))


def _facts(held: _Held, mark: Decimal, at: datetime, price: Price, moments: Moments,
           rules: Rules) -> CheckpointFacts:
    position = None
    if held.shares:
        position = Position(symbol=held.leg.symbol, qty=held.shares,
                            avg_entry_price=held.entry_price, market_value=held.shares * mark,
                            unrealized_pl=_money((mark - held.entry_price) * held.shares))
    readings = tuple(read(i, price(i.instrument, at), price(i.instrument, moments.run))
                     for i in held.leg.indicators)
    return CheckpointFacts(conviction=held.conviction, weekly_conviction=held.leg.conviction,
                           instrument=held.leg.symbol, readings=readings, position=position,
                           week_entry_price=held.entry_price,  # a virtual book opens each week
                           short_borrowable=True, stop_loss_pct=rules.stop_loss_pct,
                           reduce_loss_pct=rules.reduce_loss_pct)


def _enter(leg: Leg, price: Price, moments: Moments) -> _Held:
    shares = _sized(leg, leg.conviction, price, moments)
    return _Held(leg, shares, leg.conviction, price(leg.symbol, moments.entry))


def _value(book: Sequence[_Held], at: datetime, price: Price) -> Decimal:
    """The book's positions marked at `at`."""
    return sum((h.shares * price(h.leg.symbol, at) for h in book), Decimal(0))


def _checkpoints_held(moments: Moments) -> list[datetime]:
    return [m for m in moments.checkpoints if moments.entry < m <= moments.settlement]


def run_week(legs: Sequence[Leg], equity_start: Decimal, moments: Moments, price: Price,
             rules: Rules, interest_usd: Decimal = Decimal(0)) -> BookWeek:
    """The book's week (see the module docstring); `interest_usd` is credited at the settlement
    (the T-bill benchmark holds cash only)."""
    cash, traded = equity_start, Decimal(0)
    book = []
    for leg in legs:
        held = _enter(leg, price, moments)
        cash -= held.shares * held.entry_price
        traded += abs(held.shares) * held.entry_price
        book.append(held)
    gross = sum((abs(h.shares) * h.entry_price for h in book), Decimal(0))
    marks = []
    for at in _checkpoints_held(moments):
        marks.append(_money(cash + _value(book, at, price)))
        for held in (h for h in book if h.leg.conviction):
            cash, traded = _check(held, at, price, moments, rules, cash, traded)
    end = cash + interest_usd + _value(book, moments.settlement, price)
    return BookWeek(_money(end), marks, _money(traded), _money(gross))


def _check(held: _Held, at: datetime, price: Price, moments: Moments, rules: Rules,
           cash: Decimal, traded: Decimal) -> tuple[Decimal, Decimal]:
    """One managed leg at a checkpoint: decide, then trade to the decided size at the mark."""
    mark = price(held.leg.symbol, at)
    decision = decide(_facts(held, mark, at, price, moments, rules))
    if decision.conviction_after == held.conviction:
        return cash, traded
    shares = _sized(held.leg, decision.conviction_after, price, moments)
    delta = shares - held.shares
    if shares and (not held.shares or (shares > 0) != (held.shares > 0)):
        held.entry_price = mark
    held.shares, held.conviction = shares, decision.conviction_after
    return cash - delta * mark, traded + abs(delta) * mark
