"""A position's P/L this week, on average cost (issue 12).

Shares carried into the week count from the week's entry mark (their price at the weekly run);
shares traded this week count at their fill prices. Adding shares averages their cost; reducing
realizes P/L on the shares closed and keeps the cost of the rest; crossing zero opens the other
side at the fill price. The broker's lifetime average entry, which blends earlier weeks' trades, is
never used. Invariant (property-tested): realized + unrealized is the change of cash and marked
value since the week opened, so the week-open equity plus both is the equity now (cash + shares x
price), with nothing counted twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Book:
    """One symbol this week: signed shares held, what they cost (signed like them), P/L realized."""

    qty: int = 0
    cost: Decimal = Decimal(0)
    realized: Decimal = Decimal(0)

    def unrealized(self, price: Decimal) -> Decimal:
        return self.qty * price - self.cost

    def booked(self, delta: int, price: Decimal) -> Book:
        """The book after a fill of `delta` signed shares at `price`."""
        if self.qty == 0 or (self.qty > 0) == (delta > 0):
            return Book(self.qty + delta, self.cost + delta * price, self.realized)
        shares = min(abs(delta), abs(self.qty))
        closed = shares if self.qty > 0 else -shares  # signed like the shares held
        closed_cost = self.cost * closed / self.qty
        remaining = self.qty + delta
        realized = self.realized + closed * price - closed_cost
        if remaining and (remaining > 0) != (self.qty > 0):  # crossed: the rest opens at the fill
            return Book(remaining, remaining * price, realized)
        return Book(remaining, self.cost - closed_cost, realized)


def carried(qty: int, mark: Decimal) -> Book:
    """Shares held when the week opened, at the week's entry mark."""
    return Book(qty, qty * mark)


def week_book(opened: Book, fills: Iterable[tuple[int, Decimal]]) -> Book:
    """The book after this week's fills ((signed shares, price), in the order they filled)."""
    book = opened
    for delta, price in fills:
        if delta:
            book = book.booked(delta, price)
    return book


def entry_price(book: Book, held_qty: int, mark: Decimal) -> Decimal:
    """This week's average cost per share of `held_qty` shares: the book's when it holds that side,
    else (shares the week's fills do not explain) the week's entry mark."""
    if held_qty and book.qty and (book.qty > 0) == (held_qty > 0):
        return book.cost / book.qty
    return mark
