"""An order of the simulated broker in time: when it can trade, when and at what it fills.

A pure function of the order, the simulated market and the moment asked about (see sim_broker's
docstring for the semantics). The market's price path is fixed, so what is computed once is kept:
when an order submitted at a moment can first trade, and how far a resting stop's path has been
watched without trading through its stop (the next look resumes there: a stop resting for weeks
costs what its new minutes cost, not its whole history; sim_broker shares one timeline among the
brokers over a ledger object). A session's minute prices are computed once per process, with their
range: a session whose range does not reach a stop is passed over without looking at its minutes.
"""

from __future__ import annotations

import bisect
import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from llmtrade.adapters.broker.sim_market import SimMarket
from llmtrade.domain.calendar import ET
from llmtrade.schemas import BrokerOrder, OrderSide
from llmtrade.schemas.broker import HELD

FILLED, ACCEPTED, CANCELED, NEW = "filled", "accepted", "canceled", "new"
PARTIALLY_FILLED, REJECTED = "partially_filled", "rejected"
OPEN = frozenset({NEW, ACCEPTED, PARTIALLY_FILLED, HELD})
# a cancel's ledger key: the cancelled order's client_order_id after it (no order may take one)
CANCEL_PREFIX = "cancel:"
MINUTE = timedelta(minutes=1)
Fills = list[tuple[datetime, int]]  # (moment, shares)


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

    def schedule(self, order: BrokerOrder, tradable: datetime) -> tuple[Fills, datetime | None]:
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


@dataclass(frozen=True)
class _SessionPrices:
    """A session's price a minute at a time (what a resting stop watches), and its range: a day
    whose range does not reach a stop is passed over without looking at its minutes."""

    minutes: tuple[datetime, ...]
    prices: tuple[Decimal, ...]
    low: Decimal
    high: Decimal


@functools.lru_cache(maxsize=2048)
def _session_prices(market: SimMarket, symbol: str, day: date) -> _SessionPrices | None:
    """The day's minute prices, computed once per process (None on a closed day)."""
    session = market.session(day)
    if session is None:
        return None
    minutes = tuple(session.open + i * MINUTE
                    for i in range(int((session.close - session.open) / MINUTE)))
    prices = tuple(market.price(symbol, minute) for minute in minutes)
    return _SessionPrices(minutes, prices, min(prices), max(prices))


@dataclass
class _Watch:
    """A stop's path watched up to `clear` (no minute up to it traded through the stop), or the
    moment it did (`trigger`)."""

    clear: datetime
    trigger: datetime | None = None


class OrderTimeline:
    def __init__(self, market: SimMarket, fills: FillModel) -> None:
        self._market = market
        self._fills = fills
        self._tradable_from: dict[datetime, datetime] = {}  # submission → first moment to trade
        self._watches: dict[tuple[str, datetime], _Watch] = {}  # (stop id, resting since)

    def group_as_of(self, record: BrokerOrder, now: datetime,
                    cancels: Mapping[str, datetime]) -> list[BrokerOrder]:
        """A ledger record (an order with its legs) as it stands at `now`: the order, then its
        legs."""
        parent = self.as_of(record.model_copy(update={"legs": []}), now,
                            cancels.get(record.client_order_id))
        legs = [self._leg_as_of(leg, parent, now, cancels.get(leg.client_order_id))
                for leg in record.legs]
        return [parent.model_copy(update={"legs": legs}), *legs]

    def tradable(self, submitted: datetime) -> datetime:
        """When an order submitted then can first trade: at once in a session, else the next
        open."""
        if submitted not in self._tradable_from:
            session = self._market.session(submitted.astimezone(ET).date())
            opened = session is not None and session.open <= submitted < session.close
            self._tradable_from[submitted] = (submitted if opened
                                              else self._market.next_open(submitted))
        return self._tradable_from[submitted]

    def as_of(self, order: BrokerOrder, now: datetime,
              canceled_at: datetime | None = None) -> BrokerOrder:
        """The order as the broker shows it at `now`: its fills up to then (up to its cancel,
        if cancelled) and its status."""
        horizon = now if canceled_at is None else min(now, canceled_at)
        tradable = self.tradable(order.submitted_at)
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
            return self.as_of(resting, now, canceled_at).model_copy(
                update={"submitted_at": leg.submitted_at})
        if canceled_at is not None and canceled_at <= now:
            return leg.model_copy(update={"status": CANCELED})
        return leg.model_copy(update={"status": HELD if parent.is_open else CANCELED})

    def _filled(self, order: BrokerOrder, done: Fills) -> dict[str, object]:
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

    def _stop_fills(self, order: BrokerOrder, horizon: datetime) -> tuple[Fills, None]:
        """A stop fills in full at the first minute, up to `horizon`, the price trades at or
        through its stop_price (at its submission when the price already has)."""
        watch = self._watches.setdefault((order.id, order.submitted_at),
                                         _Watch(clear=order.submitted_at - MINUTE))
        if watch.trigger is None and watch.clear < horizon:
            watch.trigger = self._first_trigger(order, watch.clear, horizon)
            watch.clear = horizon
        if watch.trigger is not None and watch.trigger <= horizon:
            return [(watch.trigger, order.qty)], None
        return [], None

    def _first_trigger(self, order: BrokerOrder, after: datetime,
                       horizon: datetime) -> datetime | None:
        """The first moment in (after, horizon] the price trades at or through the stop: of the
        minutes that end after the submission, the first at (its start or the submission, the
        later) or through the stop."""
        stop, sells, submitted = order.stop_price, order.side is OrderSide.SELL, order.submitted_at
        assert stop is not None, "a stop order has a stop_price"
        if submitted > horizon:
            return None
        # every minute up to it was watched already, or ended before the submission
        watched = after if after >= submitted else submitted - MINUTE
        day, last = watched.astimezone(ET).date(), horizon.astimezone(ET).date()
        while day <= last:
            session = _session_prices(self._market, order.symbol, day)
            if session is not None and (session.low <= stop if sells else session.high >= stop):
                first = bisect.bisect_right(session.minutes, watched)
                end = bisect.bisect_right(session.minutes, horizon)
                for index in range(first, end):
                    price = session.prices[index]
                    if (price <= stop) if sells else (price >= stop):
                        return max(session.minutes[index], submitted)
            day += timedelta(days=1)
        return None
