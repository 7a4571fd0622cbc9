"""A simulated paper broker with Alpaca's semantics, for the offline run.

- A market `day` order submitted while the market is closed is `accepted` and fills at the next
  open; submitted while open, it fills at once. Buys fill at the simulated ask, sells at the bid;
  positions are marked at the mid.
- Quantities are whole shares; selling more than is held long (or buying more than is short) is
  refused with 403, as Alpaca refuses crossing through zero in one order; a short needs the
  configured minimum equity; an order against an open order on the other side is a wash
  trade (403).
- `client_order_id` is unique forever per account (422 when reused), which makes retries safe.
- Buying power is Reg T's: twice the equity less the gross value held and reserved by open orders;
  an order that adds exposure beyond it is refused with 403 (shorts are checked at price + 3 %).

Its order ledger (the OrderLedger port: a local SQLite file, or its own partitions of the DynamoDB
table) records every order and cancel once and never changes them, so the broker's state survives
between Lambda invocations and CLI runs. Positions, cash and fills are derived from the ledger and
the simulated market at the broker's clock: a pure function of time.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

from llmtrade.adapters.broker.sim_market import SimMarket
from llmtrade.domain.calendar import ET
from llmtrade.ports import AccountState, AssetInfo, BrokerRejected, OrderLedger
from llmtrade.schemas import BrokerOrder, OrderRequest, OrderSide, Position

FILLED, ACCEPTED, CANCELED = "filled", "accepted", "canceled"
MARGIN_MULTIPLIER = Decimal(2)  # Reg T overnight buying power
SHORT_PRICE_BUFFER = Decimal("1.03")  # Alpaca checks a short's buying power at the ask + 3 %


class SimBroker:
    def __init__(self, market: SimMarket, ledger: OrderLedger, *, starting_equity: float,
                 min_equity_for_short: float, clock: Callable[[], datetime],
                 hard_to_borrow: frozenset[str] = frozenset()) -> None:
        self._market = market
        self._hard_to_borrow = hard_to_borrow
        self._ledger = ledger
        self._start = Decimal(str(starting_equity))
        self._min_short_equity = Decimal(str(min_equity_for_short))
        self._now = clock

    # ----------------------------------------------------------------- reads
    def _record(self, account_id: str, order: BrokerOrder) -> bool:
        now = self._now()
        if any(o.submitted_at > now for o in self._ledger.orders(account_id)):
            # later orders exist: an order now would rewrite a history they were checked against
            raise RuntimeError(f"simulated broker: {account_id} has orders after"
                               f" {now.isoformat()}; the simulation cannot go back in time"
                               " (rerun later weeks after this one)")
        return self._ledger.add(account_id, order)

    def latest_order_at(self, account_id: str) -> datetime | None:
        """When the account's last order (or cancel) was placed: the simulation's present for it."""
        return max((o.submitted_at for o in self._ledger.orders(account_id)), default=None)

    def orders(self, account_id: str) -> list[BrokerOrder]:
        """Every order submitted up to the clock, as it stands then.

        Cancels are ledger records too."""
        return self._orders_as_of(self._ledger.orders(account_id))

    def _orders_as_of(self, ledger: list[BrokerOrder]) -> list[BrokerOrder]:
        now = self._now()
        placed = [o for o in ledger if o.submitted_at <= now]
        cancels = {o.client_order_id.removeprefix("cancel:")
                   for o in placed if o.status == CANCELED}
        return [self._as_of(o, now, canceled=o.client_order_id in cancels)
                for o in placed if o.status != CANCELED]

    def open_orders(self, account_id: str) -> list[BrokerOrder]:
        return [o for o in self.orders(account_id) if o.status == ACCEPTED]

    def order_by_client_id(self, account_id: str, client_order_id: str) -> BrokerOrder | None:
        return next((o for o in self.orders(account_id)
                     if o.client_order_id == client_order_id), None)

    def positions(self, account_id: str) -> list[Position]:
        return self._positions(self.orders(account_id))

    def _positions(self, orders: list[BrokerOrder]) -> list[Position]:
        now = self._now()
        held: dict[str, tuple[int, Decimal]] = {}  # symbol → (signed qty, cost of the open qty)
        for order in orders:
            if order.status != FILLED:
                continue
            qty, cost = held.get(order.symbol, (0, Decimal(0)))
            delta = order.qty if order.side is OrderSide.BUY else -order.qty
            price = order.filled_avg_price or Decimal(0)
            if qty == 0 or (qty > 0) == (delta > 0):
                qty, cost = qty + delta, cost + delta * price
            else:  # reducing: the remaining shares keep their average entry
                remaining = qty + delta
                cost = cost * remaining / qty if remaining else Decimal(0)
                qty = remaining
            held[order.symbol] = (qty, cost)
        positions = []
        for symbol, (qty, cost) in sorted(held.items()):
            if qty == 0:
                continue
            price = self._market.price(symbol, now)
            entry = (cost / qty).quantize(Decimal("0.0001"))
            positions.append(Position(symbol=symbol, qty=qty, avg_entry_price=entry,
                                      market_value=qty * price,
                                      unrealized_pl=(price * qty - cost).quantize(Decimal("0.01"))))
        return positions

    def account(self, account_id: str) -> AccountState:
        return self._account(self.orders(account_id))

    def _account(self, orders: list[BrokerOrder]) -> AccountState:
        cash = self._start
        for order in orders:
            if order.status == FILLED and order.filled_avg_price is not None:
                sign = -1 if order.side is OrderSide.BUY else 1
                cash += sign * order.qty * order.filled_avg_price
        positions = self._positions(orders)
        equity = cash + sum((p.market_value for p in positions), Decimal(0))
        gross = sum((abs(p.market_value) for p in positions), Decimal(0))
        reserved = sum((self._order_value(o) for o in orders if o.status == ACCEPTED), Decimal(0))
        buying_power = max(Decimal(0), MARGIN_MULTIPLIER * equity - gross - reserved)
        cent = Decimal("0.01")
        return AccountState(equity=equity.quantize(cent), cash=cash.quantize(cent),
                            buying_power=buying_power.quantize(cent))

    def _order_value(self, order: BrokerOrder | OrderRequest) -> Decimal:
        price = self._market.price(order.symbol, self._now())
        return order.qty * price * (SHORT_PRICE_BUFFER if order.side is OrderSide.SELL else 1)

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
        # read once: every check below works on this copy
        ledger = self._ledger.orders(account_id)
        if any(o.client_order_id == order.client_order_id for o in ledger):
            raise BrokerRejected(422, 40010001, "client_order_id must be unique")
        self._check_quantity(self._orders_as_of(ledger), order)
        placed = BrokerOrder(
            id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"sim://{account_id}/{order.client_order_id}")),
            client_order_id=order.client_order_id, symbol=order.symbol, qty=order.qty,
            side=order.side, status=ACCEPTED, submitted_at=now.astimezone(UTC),
        )
        if not self._record(account_id, placed):  # a concurrent submit of the same id won
            raise BrokerRejected(422, 40010001, "client_order_id must be unique")
        return self._as_of(placed, now)

    def cancel_order(self, account_id: str, client_order_id: str) -> None:
        order = self.order_by_client_id(account_id, client_order_id)
        if order is None or order.status != ACCEPTED:
            raise BrokerRejected(422, 42210000, f"order {client_order_id} is not open")
        now = self._now()
        cancel = order.model_copy(update={"status": CANCELED,
                                          "client_order_id": f"cancel:{client_order_id}",
                                          "submitted_at": now.astimezone(UTC)})
        self._record(account_id, cancel)

    def _check_quantity(self, orders: list[BrokerOrder], order: OrderRequest) -> None:
        held = next((p.qty for p in self._positions(orders) if p.symbol == order.symbol), 0)
        pending = [o for o in orders if o.status == ACCEPTED and o.symbol == order.symbol]
        if any(o.side is not order.side for o in pending):
            raise BrokerRejected(403, 40310000, "potential wash trade detected. use complex orders")
        delta = order.qty if order.side is OrderSide.BUY else -order.qty
        pending_delta = sum(o.qty if o.side is OrderSide.BUY else -o.qty for o in pending)
        after = held + pending_delta + delta
        if held + pending_delta > 0 > after or held + pending_delta < 0 < after:
            raise BrokerRejected(403, 40310000, f"insufficient qty available for order"
                                                f" (requested: {order.qty},"
                                                f" available: {abs(held + pending_delta)})")
        account = self._account(orders)
        if after < 0 and account.equity < self._min_short_equity:
            raise BrokerRejected(403, 40310000,
                                 "account is not allowed to short: equity below minimum")
        if after < 0 and order.side is OrderSide.SELL and order.symbol in self._hard_to_borrow:
            raise BrokerRejected(403, 40310000, f"asset {order.symbol} is not easy to borrow")
        adds_exposure = abs(after) > abs(held + pending_delta)
        if adds_exposure and self._order_value(order) > account.buying_power:
            raise BrokerRejected(403, 40310000, f"insufficient buying power (required: "
                                                f"{self._order_value(order):.2f},"
                                                f" available: {account.buying_power})")

    def _as_of(self, order: BrokerOrder, now: datetime, canceled: bool = False) -> BrokerOrder:
        """The order as the broker shows it at `now`: accepted until the next open, then filled."""
        if canceled:
            return order.model_copy(update={"status": CANCELED})
        submitted = order.submitted_at
        session = self._market.session(submitted.astimezone(ET).date())
        fills_at = submitted if session and session.open <= submitted < session.close else \
            self._market.next_open(submitted)
        if now < fills_at:
            return order
        bid, ask = self._market.quote(order.symbol, fills_at)
        price = ask if order.side is OrderSide.BUY else bid
        return order.model_copy(update={"status": FILLED, "filled_at": fills_at.astimezone(UTC),
                                        "filled_qty": order.qty, "filled_avg_price": price})
