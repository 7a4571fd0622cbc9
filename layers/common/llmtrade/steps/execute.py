"""Execution: each account moves to its week's target; FLAT only records a snapshot (SPEC §3.6).

Orders are identified by a deterministic client_order_id (account, week, symbol, leg): before
submitting, the broker is asked for that id, so a rerun never sends an order twice.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from llmtrade.domain.sizing import Leg, fit_to_buying_power, legs_to_target, target_shares
from llmtrade.ports import Broker, BrokerRejected
from llmtrade.schemas import (
    Direction,
    Event,
    EventKind,
    OrderEvent,
    OrderFinal,
    OrderRequest,
    Position,
    PositionSnapshot,
    direction_of,
)
from llmtrade.services import Services
from llmtrade.steps.keys import WeekRun
from llmtrade.steps.opening import halted
from llmtrade.steps.week import target_of


def submit_legs(services: Services, broker: Broker, week_id: str, account_id: str, legs: list[Leg],
                id_suffix: str = "") -> tuple[list[str], str]:
    """Submit legs in order, recording an order event each; stop at a rejection, or after a close
    that has not filled when the next leg reopens the same symbol on the other side (the broker
    accepts that only once the close has filled). Returns (client ids, note)."""
    ids: list[str] = []
    for index, leg in enumerate(legs):
        client_id = f"{account_id}-{week_id}-{leg.symbol}-{leg.name}{id_suffix}"
        request = OrderRequest(symbol=leg.symbol, qty=leg.qty, side=leg.side, client_order_id=client_id)
        rejected = None
        placed = broker.order_by_client_id(account_id, client_id)
        if placed is None:
            try:
                placed = broker.submit_order(account_id, request)
            except BrokerRejected as exc:
                # a concurrent rerun may have placed it in between: then it is ours, not a rejection
                placed = broker.order_by_client_id(account_id, client_id)
                rejected = None if placed else str(exc)
        event = OrderEvent(week_id=week_id, account_id=account_id, leg=leg.name, request=request,
                           broker_order=placed, rejected=rejected)
        services.store.append(Event.of(event, week_id=week_id, account_id=account_id, kind=EventKind.ORDER,
                                       subject=client_id, recorded_at=datetime.now(UTC)))
        ids.append(client_id)
        if rejected:
            return ids, f"{leg.name} {leg.symbol} rejected: {rejected}"
        crossing = index + 1 < len(legs) and legs[index + 1].symbol == leg.symbol
        if crossing and placed and placed.status != "filled":
            return ids, f"the opening {leg.symbol} leg waits for the close to fill (next checkpoint)"
    return ids, ""


FINAL_STATUSES = frozenset({"filled", "canceled", "expired", "rejected", "done_for_day", "replaced"})


def cancel_if_open(broker: Broker, account_id: str, client_order_id: str) -> bool:
    """Cancel an open order; one that filled or was cancelled since it was listed (Alpaca answers 422/404)
    is no longer in the way, so that is not an error: the legs are computed from positions afterwards."""
    try:
        broker.cancel_order(account_id, client_order_id)
    except BrokerRejected as exc:
        if exc.status in (404, 422):
            return False
        raise
    return True


def reconcile_orders(services: Services, broker: Broker, week_id: str, account_id: str, at: datetime) -> int:
    """Record how the week's orders ended (fill price and quantity) once the broker says they did; an order
    event holds only what the broker said at submission. Idempotent: one `order_final` per order."""
    store = services.store
    recorded = {e.subject for e in store.list_week(week_id, account_id) if e.kind is EventKind.ORDER_FINAL}
    added = 0
    for event in store.list_week(week_id, account_id):
        if event.kind is not EventKind.ORDER or event.subject in recorded or not event.payload.get("broker_order"):
            continue
        order = broker.order_by_client_id(account_id, event.subject)
        if order is not None and order.status in FINAL_STATUSES:
            final = OrderFinal(week_id=week_id, account_id=account_id, broker_order=order, seen_at=at)
            added += store.append(Event.of(final, week_id=week_id, account_id=account_id,
                                           kind=EventKind.ORDER_FINAL, subject=event.subject,
                                           recorded_at=datetime.now(UTC)))
    return added


def execute(services: Services, run: WeekRun, account_id: str) -> dict[str, Any]:
    if done := services.store.get(run.week_id, account_id, EventKind.POSITION_SNAPSHOT, "week_open"):
        # executed already: a rerun (even days later, after checkpoints acted) must not act on the broker again
        orders = [e.subject for e in services.store.list_week(run.week_id, account_id) if e.kind is EventKind.ORDER
                  and "-cp" not in e.subject]
        return {"account_id": account_id, "orders": orders, "snapshot": done.event_id}
    if stopped := halted(services, run.week_id, account_id, "execute"):
        return stopped
    settings = services.settings
    account = settings.account_by_id[account_id]
    instrument, conviction, note = target_of(services.store, run.week_id, account_id, account.kind)
    if account.kind == "flat":  # the baseline has no broker keys: it holds its starting cash, always
        equity = Decimal(str(settings.risk.starting_equity_usd))
        snapshot = PositionSnapshot(week_id=run.week_id, account_id=account_id, at=run.asof, target_instrument=None,
                                    target_direction=Direction.FLAT, conviction=0, equity=equity, cash=equity,
                                    positions=[], note=note)
        return _snapshot(services, snapshot, [])
    broker = services.broker_at(run.asof)
    prefix = f"{account_id}-{run.week_id}-"
    notes = [note]
    for stale in broker.open_orders(account_id):
        # an open order of an earlier week or checkpoint would block this week's orders (and reserve buying
        # power): cancel it first; this week's own legs (a rerun) stay
        ours = stale.client_order_id.startswith(prefix) and "-cp" not in stale.client_order_id.removeprefix(prefix)
        if not ours and cancel_if_open(broker, account_id, stale.client_order_id):
            notes.append(f"cancelled stale order {stale.client_order_id}")
    positions = broker.positions(account_id)
    target = 0
    if instrument is not None:
        target, sizing_note = size_target(services, broker, account_id, instrument, conviction, positions, run.asof)
        notes.append(sizing_note)
    order_ids, order_note = submit_legs(services, broker, run.week_id, account_id,
                                        legs_to_target(positions, instrument, target))
    notes.append(order_note)
    state = broker.account(account_id)
    snapshot = PositionSnapshot(
        week_id=run.week_id, account_id=account_id, at=run.asof, target_instrument=instrument,
        target_direction=direction_of(conviction), conviction=conviction, target_qty=target, equity=state.equity,
        cash=state.cash, positions=broker.positions(account_id), note="; ".join(n for n in notes if n),
    )
    return _snapshot(services, snapshot, order_ids)


def size_target(services: Services, broker: Broker, account_id: str, instrument: str, conviction: int,
                positions: list[Position], at: datetime) -> tuple[int, str]:
    """Signed target shares for a conviction (risk.yaml), within what the broker allows: a short only in an
    easy-to-borrow name, and no more exposure than the buying power covers. Returns (shares, why it shrank)."""
    price = services.market.price(instrument, at)
    wanted = target_shares(conviction, services.settings.risk.risk_budget_usd, price)
    if wanted < 0:
        asset = broker.asset(account_id, instrument)
        if not (asset.shortable and asset.easy_to_borrow):
            return 0, f"{instrument} is not easy to borrow: cannot short it, FLAT instead"
    held = next((p.qty for p in positions if p.symbol == instrument), 0)
    fitted = fit_to_buying_power(wanted, held, price, broker.account(account_id).buying_power)
    if fitted != wanted:
        return fitted, f"sized down from {wanted:+d} to {fitted:+d} shares to fit the buying power"
    return wanted, ""


def _snapshot(services: Services, snapshot: PositionSnapshot, order_ids: list[str]) -> dict[str, Any]:
    event = Event.of(snapshot, week_id=snapshot.week_id, account_id=snapshot.account_id,
                     kind=EventKind.POSITION_SNAPSHOT, subject="week_open", recorded_at=datetime.now(UTC))
    services.store.append(event)
    return {"account_id": snapshot.account_id, "orders": order_ids, "snapshot": event.event_id}
