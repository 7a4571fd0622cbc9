"""Properties of the sizing functions (domain.sizing): whole shares within the budget, legs that
reach the target without crossing zero in one order, and a target fitted to the buying power."""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal

from hypothesis import given, settings
from hypothesis import strategies as st
from llmtrade.domain.sizing import (
    SHORT_PRICE_BUFFER,
    fit_to_buying_power,
    legs_to_target,
    target_shares,
)
from llmtrade.schemas import OrderSide, Position

PROPERTIES = settings(max_examples=300, deadline=None, derandomize=True, database=None)

prices = st.decimals(min_value=Decimal("0.5"), max_value=Decimal("2000"), places=2)
SYMBOLS = ["SPY", "TLT", "GLD"]


def position(symbol: str, qty: int) -> Position:
    return Position(symbol=symbol, qty=qty, avg_entry_price=Decimal(10),
                    market_value=Decimal(qty * 10), unrealized_pl=Decimal(0))


held = st.dictionaries(st.sampled_from(SYMBOLS), st.integers(-300, 300).filter(bool), max_size=3)


@PROPERTIES
@given(st.integers(-2, 2), st.integers(1_000, 1_000_000), prices)
def test_target_shares_are_the_most_whole_shares_the_budget_buys(conviction: int, budget: int,
                                                                   price: Decimal) -> None:
    shares = target_shares(conviction, budget, price)
    value = Decimal(budget) * abs(conviction) / 2
    assert (shares > 0) == (conviction > 0) or shares == 0
    assert abs(shares) * price <= value < (abs(shares) + 1) * price


@PROPERTIES
@given(held, st.sampled_from([*SYMBOLS, None]), st.integers(-300, 300))
def test_legs_reach_the_target_and_never_cross_zero_in_one_order(holding: dict[str, int],
                                                                 symbol: str | None,
                                                                 target: int) -> None:
    target = target if symbol else 0
    legs = legs_to_target([position(s, q) for s, q in holding.items()], symbol, target)
    book = dict(holding)
    for leg in legs:
        assert leg.qty > 0 and leg.name in ("close", "adjust", "open")
        before = book.get(leg.symbol, 0)
        after = before + (leg.qty if leg.side is OrderSide.BUY else -leg.qty)
        # a crossing is a close leg, then an open leg
        assert before * after >= 0, f"{leg} crosses zero"
        assert leg.name != "close" or after == 0
        assert leg.name != "open" or before == 0
        book[leg.symbol] = after
    assert {s: q for s, q in book.items() if q} == ({symbol: target} if symbol and target else {})
    # a position already on the target's side is adjusted, never closed and reopened (SPEC §3.1)
    if symbol and holding.get(symbol, 0) * target > 0:
        assert [leg.name for leg in legs if leg.symbol == symbol] in ([], ["adjust"])


@PROPERTIES
@given(st.integers(-500, 500), st.integers(-500, 500), prices,
       st.decimals(min_value=Decimal(0), max_value=Decimal("500000"), places=2))
def test_a_fitted_target_adds_no_more_exposure_than_the_buying_power_covers(
        target: int, held_qty: int, price: Decimal, buying_power: Decimal) -> None:
    fitted = fit_to_buying_power(target, held_qty, price, buying_power)
    # shrunk toward zero, never across it
    assert abs(fitted) <= abs(target) and fitted * target >= 0
    same_side = held_qty if held_qty * target > 0 else 0
    assert abs(fitted) >= min(abs(target), abs(same_side))  # shares already held on the side stay
    freed = abs(held_qty) * price if not same_side else Decimal(0)
    unit = price * (SHORT_PRICE_BUFFER if target < 0 else 1)
    added = max(0, abs(fitted) - abs(same_side))
    assert added * unit <= buying_power + freed
    if fitted != target:  # as large as fits: one more share would not
        affordable = ((buying_power + freed) / unit).to_integral_value(rounding=ROUND_DOWN)
        assert added == affordable
