"""Execution: each account moves to its week's target; FLAT only records a snapshot (SPEC §3.6).

Orders are identified by a deterministic client_order_id (account, week, symbol, leg): before
submitting, the broker is asked for that id, so a rerun never sends an order twice.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from llmtrade.domain.sizing import Leg, legs_to_target, target_shares
from llmtrade.ports import Broker, BrokerRejected
from llmtrade.schemas import (
    Direction,
    Event,
    EventKind,
    OrderEvent,
    OrderRequest,
    PositionSnapshot,
    direction_of,
)
from llmtrade.services import Services
from llmtrade.steps.keys import WeekRun
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


def execute(services: Services, run: WeekRun, account_id: str) -> dict[str, Any]:
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
    positions = broker.positions(account_id)
    target = 0
    if instrument is not None:
        target = target_shares(conviction, settings.risk.risk_budget_usd, services.market.price(instrument, run.asof))
    order_ids, order_note = submit_legs(services, broker, run.week_id, account_id,
                                        legs_to_target(positions, instrument, target))
    state = broker.account(account_id)
    snapshot = PositionSnapshot(
        week_id=run.week_id, account_id=account_id, at=run.asof, target_instrument=instrument,
        target_direction=direction_of(conviction), conviction=conviction, equity=state.equity, cash=state.cash,
        positions=broker.positions(account_id), note="; ".join(n for n in (note, order_note) if n),
    )
    return _snapshot(services, snapshot, order_ids)


def _snapshot(services: Services, snapshot: PositionSnapshot, order_ids: list[str]) -> dict[str, Any]:
    event = Event.of(snapshot, week_id=snapshot.week_id, account_id=snapshot.account_id,
                     kind=EventKind.POSITION_SNAPSHOT, subject="week_open", recorded_at=datetime.now(UTC))
    services.store.append(event)
    return {"account_id": snapshot.account_id, "orders": order_ids, "snapshot": event.event_id}
