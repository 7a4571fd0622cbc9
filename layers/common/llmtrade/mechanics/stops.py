"""Working an account to its target with a protective stop at the broker (risk.yaml `orders`).

An opening leg goes in with its stop attached (an `oto` order: the stop `stop_loss_pct` from the
price expected when it is placed rests once the leg fills), so a new entry is protected from its
fill on, not from the next checkpoint (a separate stop while the entry is open would be a wash
trade). Each checkpoint then keeps a resting stop order (`stop`, `gtc`: it outlasts the week) at the
checkpoint stop level (`checkpoint.stop_loss_pct` from this week's entry: the week-open mark for
shares carried into the week on the same side, else the broker's average entry), so the loss limit
holds between checkpoints and a gap through it fills at the open, as at a broker. Every action
replaces or cancels it: before any leg the stops are cancelled (shares held for an open stop are not
available to another sell at Alpaca), and once no leg of the symbol is open the stop is placed
afresh for the position then held; a STAY finds the stop it would place and keeps it. A stop that
filled since the decision in force ends that decision's position (`filled_stop`): the next
checkpoint records an EXIT, and nothing is bought back until a new decision.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from llmtrade.domain.sizing import Leg, legs_to_target
from llmtrade.events import Week
from llmtrade.mechanics.orders import (
    ClientOrderId,
    Legs,
    StepClock,
    cancel_if_open,
    placed_since,
    submit_legs,
)
from llmtrade.ports import Broker, BrokerRejected
from llmtrade.schemas import (
    BrokerOrder,
    OrderEvent,
    OrderFinal,
    OrderRequest,
    OrderSide,
    Position,
)
from llmtrade.schemas.broker import HELD
from llmtrade.services import Services

CENT = Decimal("0.01")
WeekMark = tuple[Decimal, bool]  # a carried position's week-open price, and whether it was long


def stop_level(entry: Decimal, long: bool, stop_loss_pct: float) -> Decimal:
    """The stop price `stop_loss_pct` below a long's entry (above a short's), to the cent."""
    move = Decimal(str(stop_loss_pct)) / 100
    return (entry * (1 - move if long else 1 + move)).quantize(CENT, ROUND_HALF_UP)


def to_target(services: Services, clock: StepClock, week_id: str, account_id: str,
              instrument: str | None, target: int, *, decision: datetime | None,
              retries: Sequence[datetime], carried: list[Position], week_open: datetime) -> Legs:
    """Take the account to `target` shares of `instrument` (legs under the decision's client ids,
    see `submit_legs`; `retries`: the checkpoints since the decision, this one last), then protect
    what is held (a stop under this checkpoint's id). `carried`: the positions the week opened with
    (their entry is the week-open mark). The ids are the legs' (a stop is an order event of its
    own)."""
    legs = legs_to_target(clock.broker().positions(account_id), instrument, target)
    if legs and cancel_stops(clock, account_id):
        # a stop may have filled before its cancel: the legs are computed afresh
        legs = legs_to_target(clock.broker().positions(account_id), instrument, target)
    if not services.settings.risk.orders.protective_stop:
        return submit_legs(services, clock, week_id, account_id, legs, decision, retries)
    worked = submit_legs(services, clock, week_id, account_id, legs, decision, retries,
                         entry_stop=lambda leg: _entry_stop(services, clock, leg))
    if instrument is None:
        return worked
    note = protect(services, clock, week_id, account_id, instrument,
                   _entry_mark(services, instrument, carried, week_open),
                   retries[-1] if retries else None)
    return Legs(worked.ids, "; ".join(n for n in (worked.note, note) if n))


def _entry_stop(services: Services, clock: StepClock, leg: Leg) -> Decimal | None:
    """The stop attached to an opening leg: at the stop level from the price expected now."""
    if leg.name != "open":
        return None
    expected = services.market.price(leg.symbol, clock.now)
    return stop_level(expected, leg.side is OrderSide.BUY,
                      services.settings.risk.checkpoint.stop_loss_pct)


def cancel_stops(clock: StepClock, account_id: str) -> bool:
    """Cancel every resting stop and wait (bounded) until the broker says so; whether any was. A
    leg held for its entry rests nowhere: it goes with its entry."""
    broker = clock.broker()
    stops = [o for o in broker.open_orders(account_id) if o.type == "stop" and o.status != HELD]
    for stop in stops:
        cancel_if_open(broker, account_id, stop.client_order_id)
    for stop in stops:
        if (now := clock.broker().order_by_client_id(account_id, stop.client_order_id)):
            clock.until_final(account_id, now)
    return bool(stops)


def protect(services: Services, clock: StepClock, week_id: str, account_id: str, symbol: str,
            week_mark: WeekMark | None, stamp: datetime | None) -> str:
    """Keep exactly one open stop for the position held in `symbol` (none when nothing is held;
    none yet while one of its legs is open). Returns a note when the broker refused the stop."""
    broker = clock.broker()
    open_orders = broker.open_orders(account_id)
    if any(o.symbol == symbol and o.type != "stop" for o in open_orders):
        return ""  # the stop follows the fill: the next checkpoint places it
    held = next((p for p in broker.positions(account_id) if p.symbol == symbol), None)
    wanted = _wanted_stop(services, week_id, account_id, held, week_mark, stamp)
    stops = [o for o in open_orders if o.type == "stop"]
    if wanted is None or _keep_one(broker, account_id, stops, wanted):
        return ""
    return _place_stop(services, broker, week_id, account_id, wanted)


def _keep_one(broker: Broker, account_id: str, stops: list[BrokerOrder],
              wanted: OrderRequest | None) -> bool:
    """Keep the first open stop that is the one wanted and cancel every other; True when one was
    kept (nothing to place)."""
    kept = False
    for order in stops:
        same = wanted is not None and (order.symbol, order.side, order.qty, order.stop_price) == (
            wanted.symbol, wanted.side, wanted.qty, wanted.stop_price)
        if same and not kept:
            kept = True
        else:
            cancel_if_open(broker, account_id, order.client_order_id)
    return kept


def _wanted_stop(services: Services, week_id: str, account_id: str, held: Position | None,
                 week_mark: WeekMark | None, stamp: datetime | None) -> OrderRequest | None:
    if held is None:
        return None
    long = held.qty > 0
    carried = week_mark is not None and week_mark[1] == long
    entry = week_mark[0] if week_mark is not None and carried else held.avg_entry_price
    level = stop_level(entry, long, services.settings.risk.checkpoint.stop_loss_pct)
    client_id = str(ClientOrderId(account_id, week_id, held.symbol, "stop", stamp))
    return OrderRequest.stop(held.symbol, abs(held.qty), OrderSide.SELL if long else OrderSide.BUY,
                             level, client_id)


def _entry_mark(services: Services, symbol: str, carried: list[Position],
                week_open: datetime) -> WeekMark | None:
    """(the week-open price, long) of `symbol` when the week opened holding it, else None."""
    held = next((p for p in carried if p.symbol == symbol and p.qty), None)
    return (services.market.price(symbol, week_open), held.qty > 0) if held else None


def _place_stop(services: Services, broker: Broker, week_id: str, account_id: str,
                request: OrderRequest) -> str:
    client_id = request.client_order_id
    if broker.order_by_client_id(account_id, client_id) is not None:
        return ""  # a rerun: placed already (it may have filled since)
    rejected = None
    placed: BrokerOrder | None
    try:
        placed = broker.submit_order(account_id, request)
    except BrokerRejected as exc:
        placed = broker.order_by_client_id(account_id, client_id)
        rejected = None if placed else str(exc)
    event = OrderEvent(week_id=week_id, account_id=account_id, leg="stop", request=request,
                       broker_order=placed, rejected=rejected)
    services.events.record(event, week_id=week_id, account_id=account_id, subject=client_id)
    return f"protective stop {request.symbol} rejected: {rejected}" if rejected else ""


def filled_stop(week: Week, broker: Broker, account_id: str, symbol: str,
                since: datetime | None) -> BrokerOrder | None:
    """The protective stop of `symbol` placed since the decision at `since` (None: the weekly
    run's), on its own or attached to an entry, that has filled, as recorded once it ended, else as
    the broker has it now: that decision's position is over. None when no such stop filled."""
    finals = week.by_subject(OrderFinal, account_id)
    for entry in week.entries(OrderEvent, account_id):
        order_id = ClientOrderId.parse(entry.subject)
        if (order_id is None or order_id.symbol != symbol
                or not placed_since(entry.subject, account_id, order_id.week_id, since)):
            continue
        for stop_id in _stop_ids(order_id.leg, entry.subject, entry.payload.broker_order):
            if (order := _as_now(finals, broker, account_id, stop_id)) is not None \
                    and order.status == "filled":
                return order
    return None


def _as_now(finals: dict[str, OrderFinal], broker: Broker, account_id: str,
            client_id: str) -> BrokerOrder | None:
    final = finals.get(client_id)
    return final.broker_order if final else broker.order_by_client_id(account_id, client_id)


def _stop_ids(leg: str, client_id: str, placed: BrokerOrder | None) -> list[str]:
    """The client ids of the stops an order event placed: its own (a stop) or its attached leg's
    (the broker's id for it, as the broker answered the entry)."""
    if leg == "stop":
        return [client_id]
    return [o.client_order_id for o in (placed.legs if placed else []) if o.type == "stop"]
