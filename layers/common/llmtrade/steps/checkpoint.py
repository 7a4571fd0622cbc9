"""Daily checkpoints: frozen indicators, prices and P/L only — never new research (SPEC §4).

An account's checkpoint reads gather -> decide -> record -> enforce: the facts (the conviction in
force, the frozen indicators read now, the broker's position) from the event log, the market and the
broker; the decision from the pure `domain.checkpoint_rules.decide` (its docstring states the
rules); the decision recorded before any order, so a retry after a partial execution enforces the
same decision instead of deciding again; then the orders that take the account to the conviction in
force, under the client ids of the decision that set it. A rerun of an older checkpoint never
enforces a superseded one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from decimal import Decimal
from typing import Any

from llmtrade.domain.calendar import ET, et, parse_week_id
from llmtrade.domain.checkpoint_rules import CheckpointFacts, decide, flipped, inputs_of
from llmtrade.domain.indicators import read
from llmtrade.domain.sizing import target_shares
from llmtrade.domain.week_pl import Book, carried, entry_price, week_book
from llmtrade.events import Week
from llmtrade.mechanics.orders import (
    StepClock,
    cancel_if_open,
    placed_since,
    reconcile_orders,
    size_target,
)
from llmtrade.mechanics.stops import filled_stop, to_target
from llmtrade.mechanics.targets import target_in
from llmtrade.ports import Broker
from llmtrade.run_keys import CheckpointRun
from llmtrade.schemas import (
    AccountKind,
    BrokerOrder,
    ChairmanDecision,
    CheckpointAction,
    CheckpointUpdate,
    Indicator,
    IndicatorReading,
    OrderEvent,
    OrderFinal,
    OrderSide,
    Pitch,
    Position,
    PositionSnapshot,
)
from llmtrade.services import Services


@dataclass(frozen=True)
class _Checkpoint:
    """One account at one checkpoint: its week (read once), the broker then, the week's target."""

    services: Services
    run: CheckpointRun
    account_id: str
    kind: AccountKind
    week: Week
    broker: Broker
    week_open: datetime
    instrument: str | None
    weekly_conviction: int


def checkpoint_account(services: Services, run: CheckpointRun, account_id: str) -> dict[str, Any]:
    """Gather the facts, decide, record the decision, then bring the broker to it (module doc)."""
    cp = _checkpoint(services, run, account_id)
    entry = services.events.recorded(CheckpointUpdate, run.week_id, account_id,
                                     run.at.astimezone(ET).isoformat(),
                                     otherwise=lambda: _decided(cp))
    updates = [u for u in cp.week.all(CheckpointUpdate) if u.at != run.at] + [entry.payload]
    # an older checkpoint's rerun (manual --at, late redrive) must not revive a superseded decision
    later = any(u.at > run.at for u in updates)
    order_ids = [] if later else _enforce(cp, entry.payload, updates)
    # the week read once, with what this step recorded since (its orders)
    reconcile_orders(services, cp.broker, run.week_id, account_id, run.at,
                     services.events.week_now(cp.week))
    return {"account_id": account_id, "event_id": entry.event_id, "orders": order_ids}


def _checkpoint(services: Services, run: CheckpointRun, account_id: str) -> _Checkpoint:
    kind = services.settings.account_by_id[account_id].kind
    week = services.events.week(run.week_id, account_id)
    instrument, weekly_conviction, _ = target_in(week, run.week_id, account_id, kind)
    week_open = et(parse_week_id(run.week_id),
                   time.fromisoformat(services.settings.schedule.weekly_run.time))
    return _Checkpoint(services, run, account_id, kind, week, services.broker_at(run.at), week_open,
                       instrument, weekly_conviction)


def _decided(cp: _Checkpoint) -> CheckpointUpdate:
    facts = _gather(cp)
    decision = decide(facts)
    return CheckpointUpdate(week_id=cp.run.week_id, account_id=cp.account_id, at=cp.run.at,
                            action=decision.action, conviction_before=facts.conviction,
                            conviction_after=decision.conviction_after,
                            reason_delta=decision.reason, indicators=list(facts.readings),
                            unrealized_pl=decision.unrealized_pl, inputs=inputs_of(facts))


def _gather(cp: _Checkpoint) -> CheckpointFacts:
    """What the decision needs, from the event log (the conviction in force, the frozen indicators,
    the week's fills), the market (the indicators read now) and the broker (the position; fills not
    recorded yet, the decision's protective stop among them; whether a long could flip into a
    short)."""
    earlier = [u for u in cp.week.all(CheckpointUpdate) if u.at < cp.run.at]
    conviction = (max(earlier, key=lambda u: u.at).conviction_after if earlier
                  else cp.weekly_conviction)
    position = next((p for p in cp.broker.positions(cp.account_id)
                     if p.symbol == cp.instrument), None)
    rules = cp.services.settings.risk.checkpoint
    return CheckpointFacts(conviction=conviction, weekly_conviction=cp.weekly_conviction,
                           instrument=cp.instrument, readings=_readings(cp, conviction),
                           position=position, week_entry_price=_week_entry_price(cp, position),
                           short_borrowable=_short_borrowable(cp, conviction),
                           stop_loss_pct=rules.stop_loss_pct,
                           reduce_loss_pct=rules.reduce_loss_pct,
                           stopped_out_at=_stopped_out_at(cp, conviction, earlier))


def _stopped_out_at(cp: _Checkpoint, conviction: int,
                    earlier: list[CheckpointUpdate]) -> Decimal | None:
    """The fill price of the decision's protective stop, when it filled since."""
    if cp.instrument is None or not conviction:
        return None
    stop = filled_stop(cp.week, cp.broker, cp.account_id, cp.instrument, _origin(earlier))
    return (stop.filled_avg_price or stop.stop_price) if stop else None


def _readings(cp: _Checkpoint, conviction: int) -> tuple[IndicatorReading, ...]:
    """The frozen indicators read now; after a flip they have retired: not read (nor counted)."""
    if flipped(conviction, cp.weekly_conviction):
        return ()
    price = cp.services.market.price
    return tuple(read(i, price(i.instrument, cp.run.at), price(i.instrument, cp.week_open))
                 for i in _frozen_indicators(cp.week, cp.account_id, cp.kind))


def _short_borrowable(cp: _Checkpoint, conviction: int) -> bool | None:
    """Whether a long could flip into a short (None: not asked, nothing could flip short)."""
    if cp.instrument is None or conviction <= 0:
        return None
    asset = cp.broker.asset(cp.account_id, cp.instrument)
    return asset.shortable and asset.easy_to_borrow


def _origin(updates: list[CheckpointUpdate]) -> datetime | None:
    """The moment of the last checkpoint among `updates` that changed the conviction (None: the
    weekly run's decision is in force)."""
    return max((u.at for u in updates if u.action is not CheckpointAction.STAY), default=None)


def _week_entry_price(cp: _Checkpoint, position: Position | None) -> Decimal:
    """This week's cost per share of the position (domain.week_pl): the shares held at the weekly
    run at its snapshot's mark, then the week's fills at their prices."""
    if position is None:
        return Decimal(0)
    snapshot = cp.week.get(PositionSnapshot, cp.account_id, "week_open")
    opened_at = snapshot.at if snapshot else cp.week_open
    held = _held_at_open(snapshot, position.symbol)
    mark = (held.market_value / held.qty if held
            else cp.services.market.price(position.symbol, opened_at))
    opened = carried(held.qty, mark) if held else Book()
    book = week_book(opened, ((o.filled_qty * (1 if o.side is OrderSide.BUY else -1),
                               o.filled_avg_price or Decimal(0))
                              for o in _fills_since(cp, position.symbol, opened_at)))
    return entry_price(book, position.qty, mark)


def _held_at_open(snapshot: PositionSnapshot | None, symbol: str) -> Position | None:
    if snapshot is None:
        return None
    return next((p for p in snapshot.positions if p.symbol == symbol and p.qty), None)


def _fills_since(cp: _Checkpoint, symbol: str, opened_at: datetime) -> list[BrokerOrder]:
    """The week's orders in `symbol` that (partly) filled after the weekly run's snapshot, in fill
    order: as recorded once they ended, else as the broker has them now."""
    filled = [o for o in _orders_in(cp, symbol)
              if o.filled_qty and o.filled_avg_price
              and (o.filled_at is None or o.filled_at > opened_at)]
    return sorted(filled, key=lambda o: o.filled_at or o.submitted_at)


def _orders_in(cp: _Checkpoint, symbol: str) -> list[BrokerOrder]:
    """The week's placed orders in `symbol`: as recorded once they ended, else as the broker has
    them now."""
    finals = cp.week.by_subject(OrderFinal, cp.account_id)
    placed = [e.subject for e in cp.week.entries(OrderEvent, cp.account_id)
              if e.payload.request.symbol == symbol and e.payload.broker_order is not None]
    orders = [finals[subject].broker_order if subject in finals
              else cp.broker.order_by_client_id(cp.account_id, subject) for subject in placed]
    return [o for o in orders if o is not None]


def _frozen_indicators(week: Week, account_id: str, kind: AccountKind) -> list[Indicator]:
    decided = (week.get(Pitch, account_id) if kind is AccountKind.PM
               else week.get(ChairmanDecision, account_id))
    return decided.indicators if decided else []


def _enforce(cp: _Checkpoint, update: CheckpointUpdate,
             updates: list[CheckpointUpdate]) -> list[str]:
    """Orders that take the account to the conviction in force, under the client ids of the decision
    that set it (the weekly run's, or the last checkpoint that changed it): a rerun, or a later
    STAY, finds those orders and places nothing twice, and a leg that waited for a close to fill
    goes in under its own id (one that ended unfilled goes in again under this checkpoint's). A
    flip's opening leg goes in within the checkpoint once its close fills (a bounded wait); the
    protective stop is cancelled before any leg and placed afresh after (`mechanics.stops`)."""
    if cp.instrument is None:
        return []
    origin = _origin([u for u in updates if u.at <= cp.run.at])
    # a stop that filled after this decision was recorded (a rerun, a late redrive) ends it too
    stopped = filled_stop(cp.week, cp.broker, cp.account_id, cp.instrument, origin)
    target = 0 if stopped else _target_shares(cp, cp.instrument, update.conviction_after)
    _cancel_superseded(cp, origin)
    since = sorted(u.at for u in updates if (origin is None or u.at > origin) and u.at <= cp.run.at)
    snapshot = cp.week.get(PositionSnapshot, cp.account_id, "week_open")
    worked = to_target(cp.services, StepClock(cp.services, cp.run.at), cp.run.week_id,
                       cp.account_id, cp.instrument, target, decision=origin, retries=since,
                       carried=snapshot.positions if snapshot else [], week_open=cp.week_open)
    return worked.ids


def _cancel_superseded(cp: _Checkpoint, origin: datetime | None) -> None:
    """Cancel the open orders the decision in force did not place (last week's close of another
    symbol too); protective stops are `mechanics.stops`' business."""
    for order in cp.broker.open_orders(cp.account_id):
        if order.type != "stop" and not placed_since(order.client_order_id, cp.account_id,
                                                     cp.run.week_id, origin):
            cancel_if_open(cp.broker, cp.account_id, order.client_order_id)


def _target_shares(cp: _Checkpoint, instrument: str, conviction: int) -> int:
    """Sized like the weekly run, at its price, so every retry computes the same target; on the
    weekly run's side never more than it aimed for (its buying-power check holds); a flip is sized
    and checked afresh."""
    snapshot = cp.week.get(PositionSnapshot, cp.account_id, "week_open")
    weekly = snapshot.target_qty if snapshot else 0
    sized = target_shares(conviction, cp.services.settings.risk.risk_budget_usd,
                          cp.services.market.price(instrument, cp.week_open))
    if sized and weekly and (sized > 0) == (weekly > 0):
        return sized if abs(sized) <= abs(weekly) else weekly
    if not sized:
        return 0
    shares, _ = size_target(cp.services, cp.broker, cp.account_id, instrument, conviction, [],
                            cp.week_open)
    return shares
