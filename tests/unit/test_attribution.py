"""Decision vs carry: the carried position is booked from its mark to its close, or, kept, to the
entry moment; the rest of the week belongs to the decision."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from llmtrade.domain.attribution import Fill, carry_pnl, equity_at, held_after, traded_usd
from llmtrade.domain.calendar import ET
from llmtrade.schemas import Position

OPEN = datetime(2026, 11, 18, 9, 30, tzinfo=ET)


def held(symbol: str, qty: int, mark: str) -> Position:
    return Position(symbol=symbol, qty=qty, avg_entry_price=Decimal("1"),
                    market_value=qty * Decimal(mark), unrealized_pl=Decimal(0))


def test_a_closed_position_carries_to_its_fill_and_a_kept_one_to_the_entry_moment() -> None:
    carried = [held("SPY", 10, "100"), held("TLT", -5, "90")]
    fills = [Fill("SPY", -10, Decimal("101.50"), OPEN), Fill("GLD", 3, Decimal("200"), OPEN)]
    entry = {"TLT": Decimal("89"), "SPY": Decimal("999"), "GLD": Decimal("201")}
    # SPY closed at 101.50: +15; TLT short kept, re-entered at 89: +5
    assert carry_pnl(carried, fills, entry.__getitem__) == Decimal("20.00")


def test_a_reduced_position_carries_the_reduced_shares_to_their_fill() -> None:
    carried = [held("IAU", -600, "33.39")]
    fills = [Fill("IAU", 9, Decimal("33.34"), OPEN)]
    expected = -9 * (Decimal("33.34") - Decimal("33.39")) - 591 * (Decimal("33.33")
                                                                  - Decimal("33.39"))
    assert carry_pnl(carried, fills, lambda s: Decimal("33.33")) == expected.quantize(
        Decimal("0.01"))


def test_nothing_carried_is_no_carry_and_equity_is_cash_and_marked_shares() -> None:
    assert carry_pnl([], [Fill("SPY", 10, Decimal("100"), OPEN)], lambda s: Decimal(1)) == 0
    fills = [Fill("SPY", -10, Decimal("101"), OPEN), Fill("GLD", 2, Decimal("200"), OPEN)]
    positions = [held("SPY", 10, "100")]
    assert held_after(positions, fills) == {"GLD": 2}
    assert equity_at(Decimal("1000"), positions, fills, lambda s: Decimal("210")) == Decimal(
        "1000") + 1010 - 400 + 420
    assert traded_usd(fills) == Decimal("1410.00")
