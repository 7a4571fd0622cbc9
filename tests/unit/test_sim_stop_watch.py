"""A resting stop's fill is where the plain minute-by-minute scan puts it, however it is watched.

sim_orders keeps how far a stop's path was watched and resumes from there, and passes over a
session whose range does not reach the stop without looking at its minutes. Hypothesis asks one
timeline about a stop at a rising series of moments (each look resuming the last, as a kept broker
does), and a fresh timeline about each moment once; both must say what the scan of
`SimMarket.price` a minute at a time from the submission says. The stops sit at a price the path
takes later (the trigger falls exactly on a minute whose price equals the stop, or on a day whose
low or high it is), or a little beyond, or where the path never goes.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st
from llmtrade.adapters.broker.sim_market import SimMarket
from llmtrade.adapters.broker.sim_orders import IMMEDIATE, MINUTE, OrderTimeline
from llmtrade.config import load_settings
from llmtrade.domain.calendar import ET
from llmtrade.schemas import BrokerOrder, OrderSide

from tests.conftest import REPO

MARKET = SimMarket(load_settings(REPO / "config").assets)
PROPERTIES = settings(max_examples=60, deadline=None, derandomize=True, database=None)
FIRST = datetime(2026, 11, 23, 9, 0, tzinfo=ET)  # a Monday before the open; Thanksgiving after
SPAN = timedelta(days=6)  # the half day and the weekend included


def _scan(order: BrokerOrder, horizon: datetime) -> datetime | None:
    """The trigger by definition: the first minute (of those ending after the submission) whose
    price is at or through the stop, filled at its start or the submission, the later."""
    stop, sells = order.stop_price, order.side is OrderSide.SELL
    assert stop is not None
    day = order.submitted_at.astimezone(ET).date()
    while day <= horizon.astimezone(ET).date():
        session = MARKET.session(day)
        minute = session.open if session is not None else None
        while session is not None and minute is not None and minute < session.close:
            price = MARKET.price(order.symbol, minute)
            if minute + MINUTE > order.submitted_at and (price <= stop if sells
                                                         else price >= stop):
                moment = max(minute, order.submitted_at)
                return moment if moment <= horizon else None
            minute += MINUTE
        day += timedelta(days=1)
    return None


def _stop(symbol: str, side: OrderSide, submitted: datetime, price: Decimal) -> BrokerOrder:
    return BrokerOrder(id=f"stop-{symbol}-{side}-{submitted:%d%H%M%S}-{price}",
                       client_order_id="stop", symbol=symbol, qty=3, side=side,
                       status="accepted", submitted_at=submitted, type="stop", stop_price=price)


def _session_extreme(symbol: str, moment: datetime, side: OrderSide) -> Decimal:
    """The low (for a sell stop) or high (a buy stop) of the session on the moment's day, or of
    the next one."""
    day = moment.astimezone(ET).date()
    while (session := MARKET.session(day)) is None:
        day += timedelta(days=1)
    prices = [MARKET.price(symbol, session.open + i * MINUTE)
              for i in range(int((session.close - session.open) / MINUTE))]
    return min(prices) if side is OrderSide.SELL else max(prices)


@PROPERTIES
@given(symbol=st.sampled_from(("SPY", "USO", "TLT")), side=st.sampled_from(OrderSide),
       submitted_minute=st.integers(0, int(SPAN.total_seconds()) // 60),
       submitted_second=st.sampled_from((0, 0, 20, 59)),
       stop_at=st.integers(1, int(SPAN.total_seconds())),
       stop_kind=st.sampled_from(("path", "path", "extreme", "beyond", "never")),
       looks=st.lists(st.sampled_from((1, 30, 59, 60, 60, 61, 120, 600, 3600, 6 * 3600, 86_400,
                                       2 * 86_400)), min_size=1, max_size=25))
def test_a_watched_stop_fills_where_the_minute_scan_says(
        symbol: str, side: OrderSide, submitted_minute: int, submitted_second: int,
        stop_at: int, stop_kind: str, looks: list[int]) -> None:
    submitted = FIRST + timedelta(minutes=submitted_minute, seconds=submitted_second)
    later = submitted + timedelta(seconds=stop_at)
    # a price the path takes after the submission (the stop hit exactly), a session's low or high
    # (a range that just reaches the stop), a cent beyond a price, or beyond any price
    target = (_session_extreme(symbol, later, side) if stop_kind == "extreme"
              else MARKET.price(symbol, later))
    beyond = {"beyond": Decimal("0.01"), "never": Decimal(1000)}.get(stop_kind, Decimal(0))
    stop = _stop(symbol, side, submitted,
                 target - beyond if side is OrderSide.SELL else target + beyond)
    # the looks, and a second before the trigger and at it
    horizons = {submitted - timedelta(seconds=30) + timedelta(seconds=sum(looks[:n + 1]))
                for n in range(len(looks))}
    if (trigger := _scan(stop, submitted + SPAN + SPAN)) is not None:
        horizons |= {trigger - timedelta(seconds=1), trigger}
    kept = OrderTimeline(MARKET, IMMEDIATE)
    for horizon in sorted(horizons):
        expected = _scan(stop, horizon)
        for timeline in (kept, OrderTimeline(MARKET, IMMEDIATE)):
            shown = timeline.as_of(stop, horizon)
            assert shown.filled_at == expected, (horizon, timeline is kept)
            if expected is not None:
                assert (shown.status, shown.filled_qty) == ("filled", stop.qty)
