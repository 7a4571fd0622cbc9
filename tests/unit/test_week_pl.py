"""Properties of this week's P/L (domain.week_pl), what stops, REDUCE and the equity chart
measure."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st
from llmtrade.domain.week_pl import Book, carried, entry_price, week_book

PROPERTIES = settings(max_examples=300, deadline=None, derandomize=True, database=None)

prices = st.integers(100, 100_000).map(lambda cents: Decimal(cents) / 100)
fills = st.lists(st.tuples(st.integers(-300, 300), prices), max_size=8)
held = st.integers(-300, 300)


@PROPERTIES
@given(held, prices, fills, prices)
def test_week_open_equity_plus_realized_plus_unrealized_is_cash_plus_shares_times_price(
        qty: int, mark: Decimal, traded: list[tuple[int, Decimal]], price: Decimal) -> None:
    cash = Decimal(100_000)
    opened_equity = cash + qty * mark
    book = week_book(carried(qty, mark), traded)
    cash_now = cash - sum((delta * fill for delta, fill in traded), Decimal(0))
    assert book.qty == qty + sum(delta for delta, _ in traded)
    equity_now = cash_now + book.qty * price
    estimate = opened_equity + book.realized + book.unrealized(price)
    assert abs(estimate - equity_now) < Decimal("1e-9")


@PROPERTIES
@given(held.filter(bool), prices, prices)
def test_carried_shares_count_from_the_weeks_entry_mark(qty: int, mark: Decimal,
                                                         price: Decimal) -> None:
    book = week_book(carried(qty, mark), [])
    assert entry_price(book, qty, mark) == mark and book.unrealized(price) == qty * (price - mark)


@PROPERTIES
@given(st.lists(st.tuples(st.integers(1, 300), prices), min_size=1, max_size=6),
       st.sampled_from([1, -1]), prices)
def test_shares_opened_this_week_cost_their_average_fill(
        traded: list[tuple[int, Decimal]], side: int, mark: Decimal) -> None:
    signed = [(side * qty, fill) for qty, fill in traded]
    book = week_book(Book(), signed)
    shares = sum(qty for qty, _ in traded)
    average = sum((qty * fill for qty, fill in traded), Decimal(0)) / shares
    assert abs(entry_price(book, side * shares, mark) - average) < Decimal("1e-9")
    assert book.realized == 0


@PROPERTIES
@given(held.filter(bool), prices, st.integers(1, 300), prices)
def test_a_reduction_keeps_the_cost_and_a_crossing_reopens_at_its_fill(
        qty: int, mark: Decimal, shares: int, fill: Decimal) -> None:
    delta = -shares if qty > 0 else shares
    book = week_book(carried(qty, mark), [(delta, fill)])
    if book.qty and (book.qty > 0) == (qty > 0):
        assert abs(entry_price(book, book.qty, mark) - mark) < Decimal("1e-9")
    elif book.qty:
        assert entry_price(book, book.qty, mark) == fill
    closed = min(abs(qty), shares) * (1 if qty > 0 else -1)
    assert abs(book.realized - closed * (fill - mark)) < Decimal("1e-9")


def test_shares_the_weeks_fills_do_not_explain_count_from_the_mark() -> None:
    assert entry_price(Book(), 10, Decimal(50)) == 50
    assert entry_price(carried(-5, Decimal(40)), 10, Decimal(50)) == 50
