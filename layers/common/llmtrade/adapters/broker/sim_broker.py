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
- `client_order_id` is unique forever per account (422 when reused), which makes retries safe.
- Buying power is Reg T's: twice the equity less the gross value held and reserved by open market
  orders; an order that adds exposure beyond it is refused with 403 (shorts are checked at price
  + 3 %).

Its order ledger (the OrderLedger port: a local SQLite file, or its own partitions of the DynamoDB
table) records every order and cancel once and never changes them, so the broker's state survives
between Lambda invocations and CLI runs. Positions, cash and fills are derived from the ledger and
the simulated market at the broker's clock: a pure function of time.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from llmtrade.adapters.broker.sim_market import SimMarket
from llmtrade.domain.calendar import ET
from llmtrade.ports import AccountState, AssetInfo, BrokerRejected, OrderLedger
from llmtrade.schemas import BrokerOrder, OrderRequest, OrderSide, Position
from llmtrade.schemas.broker import HELD

FILLED, ACCEPTED, CANCELED, NEW = "filled", "accepted", "canceled", "new"
PARTIALLY_FILLED, REJECTED = "partially_filled", "rejected"
OPEN = frozenset({NEW, ACCEPTED, PARTIALLY_FILLED, HELD})
MARGIN_MULTIPLIER = Decimal(2)  # Reg T overnight buying power
SHORT_PRICE_BUFFER = Decimal("1.03")  # Alpaca checks a short's buying power at the ask + 3 %
MINUTE = timedelta(minutes=1)


def _never(order: BrokerOrder) -> bool:
    return False


@dataclass(frozen=True)
class FillModel:
    """When a market order fills, from the moment it can trade (its submission while the market
    is open, else the next open): `latency` later; with `partial` (0 < share < 1) that share of
    it (whole shares) first and the rest a latency after; an order `rejects` picks is rejected a
    latency later instead (as a venue may). A pure function of the order, like every price."""

    latency: timedelta = timedelta(0)
    partial: float = 0.0
    rejects: Callable[[BrokerOrder], bool] = _never

    def schedule(self, order: BrokerOrder,
                 tradable: datetime) -> tuple[list[tuple[datetime, int]], datetime | None]:
        """(fills as (moment, shares), the moment of a rejection or None)."""
        first = tradable + self.latency
        if self.rejects(order):
            return [], first
        part = int(order.qty * self.partial)
        if 0 < part < order.qty:
            return [(first, part), (first + self.latency, order.qty - part)], None
        return [(first, order.qty)], None


IMMEDIATE = FillModel()  # the default offline run: a fill at once, as before
# a realistic offline mode: `new` first, half filled 2 s later, the rest 2 s after that
REALISTIC = FillModel(latency=timedelta(seconds=2), partial=0.5)


@functools.lru_cache(maxsize=2048)
def _minute_prices(market: SimMarket, symbol: str,
                   day: date) -> tuple[tuple[datetime, Decimal], ...]:
    """The session's price a minute at a time (what a resting stop watches); none on a closed
    day."""
    session = market.session(day)
    if session is None:
        return ()
    minutes = int((session.close - session.open) / MINUTE)
    return tuple((session.open + i * MINUTE, market.price(symbol, session.open + i * MINUTE))
                 for i in range(minutes))


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
        self._fills = fills
        self._tradable_from: dict[datetime, datetime] = {}  # submission → first moment to trade

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
        cancels = {o.client_order_id.removeprefix("cancel:"): o.submitted_at
                   for o in placed if o.status == CANCELED}
        orders = []
        for order in (o for o in placed if o.status != CANCELED):
            parent = self._as_of(order.model_copy(update={"legs": []}), now,
                                 cancels.get(order.client_order_id))
            legs = [self._leg_as_of(leg, parent, now, cancels.get(leg.client_order_id))
                    for leg in order.legs]
            orders += [parent.model_copy(update={"legs": legs}), *legs]
        return orders

    def open_orders(self, account_id: str) -> list[BrokerOrder]:
        return [o for o in self.orders(account_id) if o.status in OPEN]

    def order_by_client_id(self, account_id: str, client_order_id: str) -> BrokerOrder | None:
        return next((o for o in self.orders(account_id)
                     if o.client_order_id == client_order_id), None)

    def positions(self, account_id: str) -> list[Position]:
        return self._positions(self.orders(account_id))

    def _positions(self, orders: list[BrokerOrder]) -> list[Position]:
        now = self._now()
        held: dict[str, tuple[int, Decimal]] = {}  # symbol → (signed qty, cost of the open qty)
        for order in orders:
            if not order.filled_qty:
                continue
            qty, cost = held.get(order.symbol, (0, Decimal(0)))
            delta = order.filled_qty if order.side is OrderSide.BUY else -order.filled_qty
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
            if order.filled_qty and order.filled_avg_price is not None:
                sign = -1 if order.side is OrderSide.BUY else 1
                cash += sign * order.filled_qty * order.filled_avg_price
        positions = self._positions(orders)
        equity = cash + sum((p.market_value for p in positions), Decimal(0))
        gross = sum((abs(p.market_value) for p in positions), Decimal(0))
        # a resting stop only ever closes what is held: it reserves nothing
        reserved = sum((self._value(o.symbol, o.qty - o.filled_qty, o.side) for o in orders
                        if o.status in OPEN and o.type != "stop"), Decimal(0))
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
        # read once: every check below works on this copy
        ledger = self._ledger.orders(account_id)
        if any(o.client_order_id == order.client_order_id for o in ledger):
            raise BrokerRejected(422, 40010001, "client_order_id must be unique")
        self._check_quantity(self._orders_as_of(ledger), order)
        placed = BrokerOrder(
            id=_order_id(account_id, order.client_order_id),
            client_order_id=order.client_order_id, symbol=order.symbol, qty=order.qty,
            side=order.side, status=ACCEPTED, submitted_at=now.astimezone(UTC), type=order.type,
            stop_price=order.stop_price, legs=self._stop_leg(account_id, order, now),
        )
        if not self._record(account_id, placed):  # a concurrent submit of the same id won
            raise BrokerRejected(422, 40010001, "client_order_id must be unique")
        return self._as_of(placed, now)

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
        order = self.order_by_client_id(account_id, client_order_id)
        if order is None or order.status not in OPEN:
            raise BrokerRejected(422, 42210000, f"order {client_order_id} is not open")
        now = self._now()
        cancel = order.model_copy(update={"status": CANCELED, "legs": [],
                                          "client_order_id": f"cancel:{client_order_id}",
                                          "submitted_at": now.astimezone(UTC)})
        self._record(account_id, cancel)

    def _check_quantity(self, orders: list[BrokerOrder], order: OrderRequest) -> None:
        held = next((p.qty for p in self._positions(orders) if p.symbol == order.symbol), 0)
        # a held leg waits for its order: it holds nothing yet
        pending = [o for o in orders if o.status in OPEN - {HELD} and o.symbol == order.symbol]
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
        account = self._account(orders)
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

    # ----------------------------------------------------------------- an order in time
    def _tradable(self, submitted: datetime) -> datetime:
        """When an order submitted then can first trade: at once in a session, else the next
        open."""
        if submitted not in self._tradable_from:
            session = self._market.session(submitted.astimezone(ET).date())
            opened = session is not None and session.open <= submitted < session.close
            self._tradable_from[submitted] = (submitted if opened
                                              else self._market.next_open(submitted))
        return self._tradable_from[submitted]

    def _as_of(self, order: BrokerOrder, now: datetime,
               canceled_at: datetime | None = None) -> BrokerOrder:
        """The order as the broker shows it at `now`: its fills up to then (up to its cancel,
        if cancelled) and its status."""
        horizon = now if canceled_at is None else min(now, canceled_at)
        tradable = self._tradable(order.submitted_at)
        fills, rejected_at = (self._stop_fills(order, horizon) if order.type == "stop"
                              else self._fills.schedule(order, tradable))
        done = [(moment, qty) for moment, qty in fills if moment <= horizon]
        update = self._filled(order, done)
        if canceled_at is not None and canceled_at <= now:
            update["status"] = CANCELED
        elif rejected_at is not None and rejected_at <= now:
            update["status"] = REJECTED
        elif done:
            update["status"] = FILLED if update["filled_qty"] == order.qty else PARTIALLY_FILLED
        else:
            update["status"] = ACCEPTED if now < tradable else NEW
        return order.model_copy(update=update)

    def _leg_as_of(self, leg: BrokerOrder, parent: BrokerOrder, now: datetime,
                   canceled_at: datetime | None) -> BrokerOrder:
        """An `oto` stop leg at `now`: held while its order is open, resting as a stop from the
        order's fill, cancelled with an order that ended without filling."""
        if parent.status == FILLED and parent.filled_at is not None:
            resting = leg.model_copy(update={"submitted_at": parent.filled_at})
            return self._as_of(resting, now, canceled_at).model_copy(
                update={"submitted_at": leg.submitted_at})
        if canceled_at is not None and canceled_at <= now:
            return leg.model_copy(update={"status": CANCELED})
        return leg.model_copy(update={"status": HELD if parent.is_open else CANCELED})

    def _filled(self, order: BrokerOrder, done: list[tuple[datetime, int]]) -> dict[str, object]:
        if not done:
            return {"filled_qty": 0, "filled_at": None, "filled_avg_price": None}
        prices = [(qty, self._fill_price(order, moment)) for moment, qty in done]
        shares = sum(qty for qty, _ in prices)
        total = sum((qty * price for qty, price in prices), Decimal(0))
        average = prices[0][1] if len(prices) == 1 else (total / shares).quantize(Decimal("0.0001"))
        return {"filled_qty": shares, "filled_at": done[-1][0].astimezone(UTC),
                "filled_avg_price": average}

    def _fill_price(self, order: BrokerOrder, moment: datetime) -> Decimal:
        bid, ask = self._market.quote(order.symbol, moment)
        return ask if order.side is OrderSide.BUY else bid

    def _stop_fills(self, order: BrokerOrder,
                    horizon: datetime) -> tuple[list[tuple[datetime, int]], None]:
        """A stop fills in full at the first minute, up to `horizon`, the price trades at or
        through its stop_price (at its submission when the price already has)."""
        stop, sells = order.stop_price, order.side is OrderSide.SELL
        assert stop is not None, "a stop order has a stop_price"
        day, last = order.submitted_at.astimezone(ET).date(), horizon.astimezone(ET).date()
        while day <= last:
            for minute, price in _minute_prices(self._market, order.symbol, day):
                moment = max(minute, order.submitted_at)
                if minute + MINUTE <= order.submitted_at:
                    continue
                if moment > horizon:
                    return [], None
                if (price <= stop) if sells else (price >= stop):
                    return [(moment, order.qty)], None
            day += timedelta(days=1)
        return [], None


def _order_id(account_id: str, client_order_id: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"sim://{account_id}/{client_order_id}"))


def _signed(side: OrderSide, qty: int) -> int:
    return qty if side is OrderSide.BUY else -qty
