"""Order mechanics the trading steps share: submitting legs under deterministic client ids, cancelling,
recording how orders ended, and sizing a target within what the broker allows.

A client_order_id is (account, week, symbol, leg) plus the checkpoint suffix of the decision that placed
it: before submitting, the broker is asked for that id, so a rerun never sends an order twice.
"""

from __future__ import annotations

from datetime import UTC, datetime

from llmtrade.domain.sizing import Leg, fit_to_buying_power, target_shares
from llmtrade.ports import Broker, BrokerRejected
from llmtrade.schemas import Event, EventKind, OrderEvent, OrderFinal, OrderRequest, Position
from llmtrade.services import Services


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
