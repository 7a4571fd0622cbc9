"""A simulated paper broker with Alpaca's semantics, for the offline run.

- A market `day` order can trade from its submission while the market is open, else from the
  next open; when it fills is the fill model's (`FillModel`): at once by default (`IMMEDIATE`), or
  `new` first and filled a latency later, in parts, or rejected later, as Alpaca may answer. Buys
  fill at the simulated ask, sells at the bid; positions are marked at the mid.
- A `stop` order (a protective stop, `gtc`) rests until the price path, sampled a minute at a
  time over each session, trades through its stop_price; it then fills in full at that minute's
  bid (a sell) or ask (a buy): a gap through the stop fills at the open, as at a broker.
- A market order with a `stop_loss` is Alpaca's `oto`: its stop leg (named by the broker, listed
  in its `legs` and as an order of its own) is `held` until the order fills in full, then rests as
  a stop from that moment; it is cancelled when the order ends without filling. A held leg holds
  no shares and is no wash trade.
- Quantities are whole shares; selling more than is held long (or buying more than is short) is
  refused with 403, as Alpaca refuses crossing through zero in one order, and shares held for an
  open order (a resting stop) are not available to another; a short needs the configured minimum
  equity; an order against an open order on the other side is a wash trade (403).
- `client_order_id` is unique forever per account (422 when reused, a leg's too), which makes
  retries safe. One beyond Alpaca's rules (at most 128 characters): none may start with
  `cancel:` (422), the prefix under which the ledger keeps a cancel (an order holding that key
  would make the cancel of the order it names impossible to record).
- Buying power is Reg T's: twice the equity less the gross value held and reserved by open market
  orders; an order that adds exposure beyond it is refused with 403 (shorts are checked at price
  + 3 %).

Its order ledger (the OrderLedger port: a local SQLite file, or its own partitions of the DynamoDB
table) records every order and cancel once and never changes them, so the broker's state survives
between Lambda invocations and CLI runs. Positions, cash and fills are derived from the ledger and
the simulated market at the broker's clock: a pure function of time.

What is derived is kept for the ledger object (`_Derived`): every SimBroker over it in the process
(the offline run makes one per step and moment) brings the same books forward and resumes the same
stop watches, instead of folding the ledger and watching its stops from the start each time; a
lock per ledger object makes each call's read (and a write's checks with the write) one step.
"""

from __future__ import annotations

import threading
import uuid
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from llmtrade.adapters.broker.sim_book import Book, book_at
from llmtrade.adapters.broker.sim_market import SimMarket
from llmtrade.adapters.broker.sim_orders import (
    ACCEPTED,
    CANCEL_PREFIX,
    CANCELED,
    IMMEDIATE,
    OPEN,
    REALISTIC,
    FillModel,
    OrderTimeline,
)
from llmtrade.ports import BrokerRejected, OrderLedger
from llmtrade.schemas import AccountState, AssetInfo, BrokerOrder, OrderRequest, OrderSide, Position
from llmtrade.schemas.broker import HELD

__all__ = ["IMMEDIATE", "REALISTIC", "FillModel", "SimBroker"]
MARGIN_MULTIPLIER = Decimal(2)  # Reg T overnight buying power
SHORT_PRICE_BUFFER = Decimal("1.03")  # Alpaca checks a short's buying power at the ask + 3 %


@dataclass
class _Derived:
    """What the brokers over one ledger object, market and fill model derive from it: the stop
    watches (in the timeline) and each account's book."""

    timeline: OrderTimeline
    books: dict[str, Book] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)


_DERIVED: weakref.WeakKeyDictionary[OrderLedger, dict[tuple[SimMarket, FillModel], _Derived]] = (
    weakref.WeakKeyDictionary())
_DERIVED_LOCK = threading.Lock()


def _derived(ledger: OrderLedger, market: SimMarket, fills: FillModel) -> _Derived:
    """The ledger's derived state, shared while the ledger object lives (a new ledger object, as
    a new process has, starts from nothing)."""
    with _DERIVED_LOCK:
        by_model = _DERIVED.setdefault(ledger, {})
        return by_model.setdefault((market, fills), _Derived(OrderTimeline(market, fills)))


class SimBroker:
    def __init__(self, market: SimMarket, ledger: OrderLedger, *, starting_equity: float,
                 min_equity_for_short: float, clock: Callable[[], datetime],
                 hard_to_borrow: frozenset[str] = frozenset(),
                 fills: FillModel = IMMEDIATE) -> None:
        self._market = market
        self._hard_to_borrow = hard_to_borrow
        self._ledger = ledger
        self._start = Decimal(str(starting_equity))
        self._min_short_equity = Decimal(str(min_equity_for_short))
        self._now = clock
        self._derived = _derived(ledger, market, fills)
        self._timeline = self._derived.timeline

    # ----------------------------------------------------------------- reads
    @contextmanager
    def _book(self, account_id: str) -> Iterator[Book]:
        """The account's orders at the clock (sim_book: brought forward, not recomputed), held
        for the caller: no other call over the ledger object moves it meanwhile."""
        with self._derived.lock:
            books = self._derived.books
            book = book_at(books.get(account_id), self._ledger.orders(account_id), self._now(),
                           self._timeline.group_as_of)
            books[account_id] = book
            yield book

    def _followed(self, account_id: str) -> Book:
        """A book that has taken in the account's ledger records (placed by its moment or not)."""
        ledger = self._ledger.orders(account_id)
        book = self._derived.books.get(account_id)
        if book is None or not book.follows(ledger):
            book = Book(self._timeline.group_as_of)
        book.follow(ledger)
        return book

    def _record(self, account_id: str, order: BrokerOrder) -> bool:
        now = self._now()
        book = self._followed(account_id)
        if book.latest is not None and book.latest > now:
            # later orders exist: an order now would rewrite a history they were checked against
            raise RuntimeError(f"simulated broker: {account_id} has orders after"
                               f" {now.isoformat()}; the simulation cannot go back in time"
                               " (rerun later weeks after this one)")
        return self._ledger.add(account_id, order)

    def latest_order_at(self, account_id: str) -> datetime | None:
        """When the account's last order (or cancel) was placed: the simulation's present for it."""
        with self._derived.lock:
            return self._followed(account_id).latest

    def orders(self, account_id: str) -> list[BrokerOrder]:
        """Every order submitted up to the clock, as it stands then (each order, then its legs).

        Cancels are ledger records too."""
        with self._book(account_id) as book:
            return list(book.orders)

    def open_orders(self, account_id: str) -> list[BrokerOrder]:
        with self._book(account_id) as book:
            return book.open_orders()

    def order_by_client_id(self, account_id: str, client_order_id: str) -> BrokerOrder | None:
        with self._book(account_id) as book:
            slot = book.by_client_id.get(client_order_id)
            return None if slot is None else book.orders[slot]

    def positions(self, account_id: str) -> list[Position]:
        with self._book(account_id) as book:
            return self._positions(book)

    def _positions(self, book: Book) -> list[Position]:
        now = self._now()
        positions = []
        for symbol, (qty, cost) in sorted(book.holdings.items()):
            if qty == 0:
                continue
            price = self._market.price(symbol, now)
            entry = (cost / qty).quantize(Decimal("0.0001"))
            positions.append(Position(symbol=symbol, qty=qty, avg_entry_price=entry,
                                      market_value=qty * price,
                                      unrealized_pl=(price * qty - cost).quantize(Decimal("0.01"))))
        return positions

    def account(self, account_id: str) -> AccountState:
        with self._book(account_id) as book:
            return self._account(book)

    def _account(self, book: Book) -> AccountState:
        cash = self._start + book.cash_change
        positions = self._positions(book)
        equity = cash + sum((p.market_value for p in positions), Decimal(0))
        gross = sum((abs(p.market_value) for p in positions), Decimal(0))
        # a resting stop only ever closes what is held: it reserves nothing
        reserved = sum((self._value(o.symbol, o.qty - o.filled_qty, o.side)
                        for o in book.open_orders() if o.type != "stop"), Decimal(0))
        buying_power = max(Decimal(0), MARGIN_MULTIPLIER * equity - gross - reserved)
        cent = Decimal("0.01")
        return AccountState(equity=equity.quantize(cent), cash=cash.quantize(cent),
                            buying_power=buying_power.quantize(cent))

    def _value(self, symbol: str, qty: int, side: OrderSide) -> Decimal:
        price = self._market.price(symbol, self._now())
        return qty * price * (SHORT_PRICE_BUFFER if side is OrderSide.SELL else 1)

    def asset(self, account_id: str, symbol: str) -> AssetInfo:
        if symbol not in self._market.symbols:
            raise BrokerRejected(404, 40410000, f"asset not found for {symbol}")
        # as at Alpaca: a hard-to-borrow name stays `shortable`; easy_to_borrow (borrow_status) says
        # whether it can be shorted now
        return AssetInfo(symbol=symbol, tradable=True, shortable=True,
                         easy_to_borrow=symbol not in self._hard_to_borrow)

    # ----------------------------------------------------------------- writes
    def submit_order(self, account_id: str, order: OrderRequest) -> BrokerOrder:
        now = self._now()
        if order.symbol not in self._market.symbols:
            raise BrokerRejected(422, 40010001, f'asset "{order.symbol}" not found')
        if order.client_order_id.startswith(CANCEL_PREFIX):
            raise BrokerRejected(422, 40010001, f"client_order_id must not start with"
                                                f" {CANCEL_PREFIX!r} at the simulated broker")
        # read once: every check below works on this book, and the write follows them
        with self._book(account_id) as book:
            if order.client_order_id in book.taken_ids:
                raise BrokerRejected(422, 40010001, "client_order_id must be unique")
            self._check_quantity(book, order)
            placed = BrokerOrder(
                id=_order_id(account_id, order.client_order_id),
                client_order_id=order.client_order_id, symbol=order.symbol, qty=order.qty,
                side=order.side, status=ACCEPTED, submitted_at=now.astimezone(UTC),
                type=order.type, stop_price=order.stop_price,
                legs=self._stop_leg(account_id, order, now))
            if not self._record(account_id, placed):  # another process's submit of the id won
                raise BrokerRejected(422, 40010001, "client_order_id must be unique")
            return self._timeline.as_of(placed, now)

    @staticmethod
    def _stop_leg(account_id: str, order: OrderRequest, now: datetime) -> list[BrokerOrder]:
        """An `oto` order's stop leg, named as Alpaca names a leg: by the broker."""
        if order.stop_loss is None:
            return []
        leg_id = _order_id(account_id, f"{order.client_order_id}/stop_loss")
        other = OrderSide.SELL if order.side is OrderSide.BUY else OrderSide.BUY
        return [BrokerOrder(id=leg_id, client_order_id=leg_id, symbol=order.symbol,
                            qty=order.qty, side=other, status=HELD,
                            submitted_at=now.astimezone(UTC), type="stop",
                            stop_price=order.stop_loss)]

    def cancel_order(self, account_id: str, client_order_id: str) -> None:
        with self._derived.lock:
            order = self.order_by_client_id(account_id, client_order_id)
            if order is None or order.status not in OPEN:
                raise BrokerRejected(422, 42210000, f"order {client_order_id} is not open")
            now = self._now()
            cancel = order.model_copy(update={
                "status": CANCELED, "legs": [], "submitted_at": now.astimezone(UTC),
                "client_order_id": f"{CANCEL_PREFIX}{client_order_id}"})
            self._record(account_id, cancel)

    def _check_quantity(self, book: Book, order: OrderRequest) -> None:
        held = book.holdings.get(order.symbol, (0, Decimal(0)))[0]
        # a held leg waits for its order: it holds nothing yet
        pending = [o for o in book.open_orders() if o.status != HELD and o.symbol == order.symbol]
        if any(o.side is not order.side for o in pending):
            raise BrokerRejected(403, 40310000, "potential wash trade detected. use complex orders")
        delta = order.qty if order.side is OrderSide.BUY else -order.qty
        pending_delta = sum(_signed(o.side, o.qty - o.filled_qty) for o in pending)
        after = held + pending_delta + delta
        # Alpaca's qty_available: what is held less what open orders on this side hold for them
        closing = held > 0 if order.side is OrderSide.SELL else held < 0
        available = abs(held + pending_delta) if closing else 0
        crossing = held + pending_delta > 0 > after or held + pending_delta < 0 < after
        if crossing or (closing and order.qty > available):
            raise BrokerRejected(403, 40310000, f"insufficient qty available for order"
                                                f" (requested: {order.qty},"
                                                f" available: {available})")
        account = self._account(book)
        if after < 0 and account.equity < self._min_short_equity:
            raise BrokerRejected(403, 40310000,
                                 "account is not allowed to short: equity below minimum")
        if after < 0 and order.side is OrderSide.SELL and order.symbol in self._hard_to_borrow:
            raise BrokerRejected(403, 40310000, f"asset {order.symbol} is not easy to borrow")
        adds_exposure = abs(after) > abs(held + pending_delta)
        value = self._value(order.symbol, order.qty, order.side)
        if adds_exposure and value > account.buying_power:
            raise BrokerRejected(403, 40310000, f"insufficient buying power (required: "
                                                f"{value:.2f},"
                                                f" available: {account.buying_power})")


def _order_id(account_id: str, client_order_id: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"sim://{account_id}/{client_order_id}"))


def _signed(side: OrderSide, qty: int) -> int:
    return qty if side is OrderSide.BUY else -qty
