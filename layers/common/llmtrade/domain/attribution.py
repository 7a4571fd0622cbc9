"""Decision vs carry, and what a week's fills did, from fills and market prices (pure).

A week's P/L (the broker's equity change from its weekly run to its settlement) is carry P/L, last
week's position from its mark at the run until it is closed (or, when kept, until this week's
entry moment, where it counts as re-entered), plus decision P/L, everything else: this week's trade
from its entry. Carry is rounded to the cent and decision is the rest, so decision + carry == pnl
exactly and totals keep reconciling to the broker.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from llmtrade.schemas import BrokerOrder, OrderSide, Position

CENT = Decimal("0.01")


@dataclass(frozen=True)
class Fill:
    symbol: str
    qty: int  # signed: + bought, - sold
    price: Decimal
    at: datetime


def fills_of(orders: Iterable[BrokerOrder]) -> list[Fill]:
    """The filled part of each order, oldest first."""
    fills = []
    for order in orders:
        if order.filled_at is None or order.filled_avg_price is None or not order.filled_qty:
            continue
        qty = order.filled_qty if order.side is OrderSide.BUY else -order.filled_qty
        fills.append(Fill(order.symbol, qty, order.filled_avg_price, order.filled_at))
    return sorted(fills, key=lambda f: f.at)


def carry_pnl(carried: Sequence[Position], opening: Sequence[Fill],
              entry_price: Callable[[str], Decimal]) -> Decimal:
    """P/L of the positions held at the run: closed by the run's own fills (`opening`) at their
    price, the rest kept until the entry moment (`entry_price` of the symbol then); to the cent."""
    total = Decimal(0)
    for position in carried:
        if not position.qty:
            continue
        mark = position.market_value / position.qty
        remaining = position.qty
        for fill in opening:
            if fill.symbol != position.symbol or (fill.qty > 0) == (remaining > 0) or not remaining:
                continue
            closed = min(abs(fill.qty), abs(remaining)) * (1 if remaining > 0 else -1)
            total += closed * (fill.price - mark)
            remaining -= closed
        if remaining:
            total += remaining * (entry_price(position.symbol) - mark)
    return total.quantize(CENT, ROUND_HALF_UP)


def held_after(positions: Sequence[Position], fills: Iterable[Fill]) -> dict[str, int]:
    """Signed shares per symbol after the fills (zero positions left out)."""
    held = {p.symbol: p.qty for p in positions}
    for fill in fills:
        held[fill.symbol] = held.get(fill.symbol, 0) + fill.qty
    return {symbol: qty for symbol, qty in held.items() if qty}


def equity_at(cash: Decimal, positions: Sequence[Position], fills: Iterable[Fill],
              price: Callable[[str], Decimal]) -> Decimal:
    """Cash and shares after the fills, the shares marked at `price` (the broker's own sum)."""
    fills = list(fills)
    cash_after = cash - sum((f.qty * f.price for f in fills), Decimal(0))
    held = held_after(positions, fills)
    return (cash_after + sum((qty * price(s) for s, qty in held.items()), Decimal(0))
            ).quantize(CENT, ROUND_HALF_UP)


def traded_usd(fills: Iterable[Fill]) -> Decimal:
    """The value of every share bought or sold (the week's turnover in dollars)."""
    return sum((abs(f.qty) * f.price for f in fills), Decimal(0)).quantize(CENT, ROUND_HALF_UP)


def gross_usd(held: Mapping[str, int], price: Callable[[str], Decimal]) -> Decimal:
    return sum((abs(qty) * price(s) for s, qty in held.items()), Decimal(0)).quantize(
        CENT, ROUND_HALF_UP)
