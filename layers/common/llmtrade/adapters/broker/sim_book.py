"""One account's orders at the simulated broker's clock, kept up to date instead of recomputed.

What the broker shows at a moment is a pure function of the ledger and the moment (a fresh
broker over the same ledger shows the same: tests/unit/test_sim_book_equivalence.py). A `Book`
computes it only for what can change: an order that is final (filled, cancelled, rejected, with
final legs) stays as it is at every later moment, so moving the clock forward re-evaluates the
open orders only, and a new ledger record adds its own. The positions and cash are kept the same
way: cash by adding each fill's change (exact decimal sums, so in any order), each symbol's
position by folding its fills in the orders' order, refolded only when an earlier order's fill
changes. The book starts over when it cannot tell: the clock went back, the ledger is not the
one it followed extended, or a record was placed before the moment it was last brought to.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from llmtrade.adapters.broker.sim_orders import CANCEL_PREFIX, CANCELED, OPEN
from llmtrade.schemas import BrokerOrder, OrderSide

GroupAsOf = Callable[[BrokerOrder, datetime, Mapping[str, datetime]], list[BrokerOrder]]
Holding = tuple[int, Decimal]  # signed qty, cost of the open qty


def fold(holding: Holding, order: BrokerOrder) -> Holding:
    """A position after one more fill (the broker's average entry: reducing keeps it)."""
    qty, cost = holding
    delta = order.filled_qty if order.side is OrderSide.BUY else -order.filled_qty
    price = order.filled_avg_price or Decimal(0)
    if qty == 0 or (qty > 0) == (delta > 0):
        return qty + delta, cost + delta * price
    remaining = qty + delta
    return remaining, (cost * remaining / qty if remaining else Decimal(0))


def _cash_change(order: BrokerOrder) -> Decimal:
    if not order.filled_qty or order.filled_avg_price is None:
        return Decimal(0)
    sign = -1 if order.side is OrderSide.BUY else 1
    return sign * order.filled_qty * order.filled_avg_price


@dataclass
class Book:
    """Built by `book_at`; its fields are read by the broker."""

    group_as_of: GroupAsOf
    at: datetime | None = None  # the moment the book shows
    followed: list[BrokerOrder] = field(default_factory=list)  # the ledger's records, in order
    # every client_order_id the ledger holds: its records' and their legs'
    taken_ids: set[str] = field(default_factory=set)
    latest: datetime | None = None  # the latest record's submission
    waiting: list[int] = field(default_factory=list)  # records not placed by `at`
    last_placed: int = -1
    orders: list[BrokerOrder] = field(default_factory=list)  # each order, then its legs
    group_of: list[int] = field(default_factory=list)  # slot -> its order's slot
    by_client_id: dict[str, int] = field(default_factory=dict)  # the first with that id
    cancels: dict[str, datetime] = field(default_factory=dict)
    open_groups: dict[int, BrokerOrder] = field(default_factory=dict)  # order's slot -> record
    fills: dict[str, list[int]] = field(default_factory=dict)  # symbol -> slots with a fill
    holdings: dict[str, Holding] = field(default_factory=dict)
    cash_change: Decimal = Decimal(0)

    def follows(self, ledger: list[BrokerOrder]) -> bool:
        """Whether `ledger` is the one followed so far, extended."""
        count = len(self.followed)
        return len(ledger) >= count and (not count or ledger[count - 1] is self.followed[-1]
                                         or ledger[count - 1] == self.followed[-1])

    def follow(self, ledger: list[BrokerOrder]) -> None:
        """Takes in the ledger's new records (not yet placed ones included)."""
        for index in range(len(self.followed), len(ledger)):
            record = ledger[index]
            self.taken_ids.update(order.client_order_id for order in (record, *record.legs))
            self.latest = max(self.latest or record.submitted_at, record.submitted_at)
            self.waiting.append(index)
        self.followed = ledger

    def to_place(self, now: datetime) -> list[int] | None:
        """The records placed from the book's moment to `now`, or None when the book cannot
        add them as the full computation would have (the clock went back, a record placed out
        of the ledger's order, a cancel of an order the book holds as final)."""
        if self.at is not None and now < self.at:
            return None
        placing = [i for i in self.waiting if self.followed[i].submitted_at <= now]
        if placing and placing[0] < self.last_placed:
            return None
        for index in placing:
            record = self.followed[index]
            target = self.by_client_id.get(record.client_order_id.removeprefix(CANCEL_PREFIX))
            if (record.status == CANCELED and target is not None
                    and self.group_of[target] not in self.open_groups):
                return None
        return placing

    def place(self, placing: list[int], now: datetime) -> None:
        """The book at `now`: the records placed by then and every open order as it stands."""
        done = set(placing)
        self.waiting = [i for i in self.waiting if i not in done]
        self.last_placed = max(placing, default=self.last_placed)
        for record in (self.followed[i] for i in placing):
            if record.status == CANCELED:
                cancelled = record.client_order_id.removeprefix(CANCEL_PREFIX)
                self.cancels[cancelled] = record.submitted_at
                continue
            group = len(self.orders)
            self.open_groups[group] = record
            for order in (record, *record.legs):
                self.by_client_id.setdefault(order.client_order_id, len(self.orders))
                self.group_of.append(group)
                # no fill yet: its first evaluation below adds them
                self.orders.append(order.model_copy(update={"filled_qty": 0,
                                                            "filled_avg_price": None}))
        self.at = now
        for slot, record in list(self.open_groups.items()):
            group_now = self.group_as_of(record, now, self.cancels)
            for offset, order in enumerate(group_now):
                self._update(slot + offset, order)
            if not any(order.status in OPEN for order in group_now):
                del self.open_groups[slot]

    def _update(self, slot: int, order: BrokerOrder) -> None:
        before = self.orders[slot]
        self.orders[slot] = order
        if (before.filled_qty, before.filled_avg_price) == (order.filled_qty,
                                                            order.filled_avg_price):
            return
        self.cash_change += _cash_change(order) - _cash_change(before)
        slots = self.fills.setdefault(order.symbol, [])
        if not before.filled_qty and (not slots or slots[-1] < slot):
            slots.append(slot)  # the latest fill: folded onto the position
            self.holdings[order.symbol] = fold(self.holdings.get(order.symbol,
                                                                 (0, Decimal(0))), order)
            return
        if not before.filled_qty:
            slots.append(slot)
            slots.sort()
        if not order.filled_qty:
            slots.remove(slot)
        holding: Holding = (0, Decimal(0))
        for each in slots:  # an earlier order's fill changed: the position folds again
            holding = fold(holding, self.orders[each])
        self.holdings[order.symbol] = holding

    def open_orders(self) -> list[BrokerOrder]:
        """The orders (and legs) open at the book's moment."""
        return [order for slot, record in self.open_groups.items()
                for order in self.orders[slot:slot + 1 + len(record.legs)]
                if order.status in OPEN]


def book_at(book: Book | None, ledger: list[BrokerOrder], now: datetime,
            group_as_of: GroupAsOf) -> Book:
    """The account's book at `now`: `book` brought forward, or a new one when it cannot be."""
    if book is None or not book.follows(ledger):
        book = Book(group_as_of)
    book.follow(ledger)
    placing = book.to_place(now)
    if placing is None:
        book = Book(group_as_of)
        book.follow(ledger)
        placing = book.to_place(now)
        assert placing is not None, "a new book places what it is given"
    book.place(placing, now)
    return book
