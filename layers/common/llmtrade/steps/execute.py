"""Execution: each account moves to its week's target; FLAT only records a snapshot (SPEC §3.6).

Orders are identified by a deterministic client_order_id (`mechanics.orders.ClientOrderId`: account,
week, symbol, leg): before submitting, the broker is asked for that id, so a rerun never sends an
order twice. A position carried into the week unchanged gets its protective stop here
(`mechanics.stops`); a new entry goes in with its stop attached, resting once the entry fills. The
`week_open` snapshot is recorded last: once it exists, the week is executed.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from llmtrade.mechanics.orders import StepClock, cancel_if_open, placed_by, size_target
from llmtrade.mechanics.stops import to_target
from llmtrade.mechanics.targets import target_in
from llmtrade.ports import Broker
from llmtrade.run_keys import WeekRun
from llmtrade.schemas import AccountKind, Direction, OrderEvent, PositionSnapshot, direction_of
from llmtrade.services import Services


def execute(services: Services, run: WeekRun, account_id: str) -> dict[str, Any]:
    week = services.events.week(run.week_id, account_id)
    if done := week.find(PositionSnapshot, account_id, "week_open"):
        # executed already: a rerun (even days later, after checkpoints) must not touch the broker
        orders = [e.subject for e in week.entries(OrderEvent) if e.payload.leg != "stop"
                  and placed_by(e.subject, account_id, run.week_id, None)]
        return {"account_id": account_id, "orders": orders, "snapshot": done.event_id}
    settings = services.settings
    account = settings.account_by_id[account_id]
    instrument, conviction, note = target_in(week, run.week_id, account_id, account.kind)
    if account.kind is AccountKind.FLAT:  # the baseline: no broker keys, it holds its starting cash
        equity = Decimal(str(settings.risk.starting_equity_usd))
        snapshot = PositionSnapshot(week_id=run.week_id, account_id=account_id, at=run.asof,
                                    target_instrument=None, target_direction=Direction.FLAT,
                                    conviction=0, equity=equity, cash=equity, positions=[],
                                    note=note)
        return _snapshot(services, snapshot, [])
    clock = StepClock(services, run.asof)
    broker = clock.broker()
    notes = [note, *_cancel_stale_orders(broker, account_id, run.week_id)]
    positions = broker.positions(account_id)
    target = 0
    if instrument is not None:
        target, sizing_note = size_target(services, broker, account_id, instrument, conviction,
                                          positions, run.asof)
        notes.append(sizing_note)
    worked = to_target(services, clock, run.week_id, account_id, instrument, target,
                       decision=None, retries=(), carried=positions, week_open=run.asof)
    notes.append(worked.note)
    broker = clock.broker()
    state = broker.account(account_id)
    snapshot = PositionSnapshot(
        week_id=run.week_id, account_id=account_id, at=run.asof, target_instrument=instrument,
        target_direction=direction_of(conviction), conviction=conviction, target_qty=target,
        equity=state.equity, cash=state.cash, positions=broker.positions(account_id),
        note="; ".join(n for n in notes if n),
    )
    return _snapshot(services, snapshot, worked.ids)


def _cancel_stale_orders(broker: Broker, account_id: str, week_id: str) -> list[str]:
    """An open order of an earlier week or checkpoint would block this week's orders (and reserve
    buying power): cancel it first; this week's own legs (a rerun) stay. A note per cancelled
    order."""
    notes = []
    for stale in broker.open_orders(account_id):
        ours = placed_by(stale.client_order_id, account_id, week_id, None)
        if not ours and cancel_if_open(broker, account_id, stale.client_order_id):
            notes.append(f"cancelled stale order {stale.client_order_id}")
    return notes


def _snapshot(services: Services, snapshot: PositionSnapshot,
              order_ids: list[str]) -> dict[str, Any]:
    entry = services.events.record(snapshot, week_id=snapshot.week_id,
                                   account_id=snapshot.account_id, subject="week_open")
    return {"account_id": snapshot.account_id, "orders": order_ids, "snapshot": entry.event_id}
