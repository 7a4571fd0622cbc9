"""Daily checkpoints: frozen indicators, prices and P/L only — never new research (SPEC §4).

The rules, in order (`decide`): a flat account STAYs; a `flips` indicator that fired FLIPs to the
other side at conviction 1; an `invalidates` indicator that fired EXITs; a loss past the stop EXITs; a
loss past the reduce level with nothing confirming REDUCEs one step (from |2| to |1|); else STAY.
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from decimal import Decimal
from typing import Any

from llmtrade.domain.calendar import ET, et, parse_week_id, week_id_for
from llmtrade.domain.indicators import read
from llmtrade.domain.sizing import legs_to_target, target_shares
from llmtrade.environment import Metric
from llmtrade.mechanics.orders import cancel_if_open, reconcile_orders, size_target, submit_legs
from llmtrade.mechanics.run_control import halted, stop_or_claim
from llmtrade.mechanics.targets import target_of
from llmtrade.ports import RunRefused
from llmtrade.run_keys import CheckpointRun
from llmtrade.schemas import (
    SHARED_ACCOUNT,
    ChairmanDecision,
    CheckpointAction,
    CheckpointSkipped,
    CheckpointUpdate,
    Event,
    EventKind,
    Indicator,
    IndicatorReading,
    Pitch,
    PositionSnapshot,
    of_kind,
)
from llmtrade.services import Services


def open_checkpoint(services: Services, execution_input: dict[str, Any],
                    execution: str | None = None) -> dict[str, Any]:
    """The accounts to check at `at` / `scheduled_time`; none (a recorded skip) when the market is closed or
    the week has no weekly run. Stops at the kill switch or a duplicate delivery (steps.opening)."""
    raw = execution_input.get("at") or execution_input.get("scheduled_time")
    if not raw:
        raise ValueError("a checkpoint needs `at` or `scheduled_time`")
    at = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    at = at.replace(tzinfo=ET) if at.tzinfo is None else at.astimezone(ET)
    week_id = week_id_for(at)
    if stopped := stop_or_claim(services, "checkpoint", week_id, at, execution_input, execution):
        if stopped.stopped == "disabled":
            services.metrics.put(Metric.CHECKPOINT_SKIPPED, 1, reason="disabled")
        return stopped.model_dump(mode="json")
    session = services.market.session(at.date())
    reason, why = None, ""
    if session is None:
        reason, why = f"market closed on {at.date()} ({at:%A})", "market_closed"
    elif at >= session.close:
        reason, why = f"market closed at {session.close:%H:%M} on {at.date()}", "market_closed"
    # only accounts whose weekly execution finished: a half-executed week is not managed yet
    opened = {e.account_id for e in services.store.list_week(week_id) if e.kind is EventKind.POSITION_SNAPSHOT}
    accounts = [a.id for a in services.settings.trading_accounts if a.id in opened]
    if reason is None and not accounts:
        reason, why = (f"week {week_id} has no weekly run: the weekly run for {week_id} has not completed (still "
                       "running, or failed): rerun it (redrive its failed execution, or start the weekly state "
                       f'machine with {{"week_id": "{week_id}"}}; locally `llmtrade run-week --week {week_id}`); '
                       "later checkpoints manage the week once it has run"), "no_weekly_run"
    accounts = [] if reason else accounts
    done = {e.account_id for e in services.store.list_week(week_id) if e.kind is EventKind.CHECKPOINT_UPDATE
            and e.subject == at.isoformat()}
    if not set(accounts) <= done and (conflict := services.replay_conflict(at)):
        raise RunRefused(f"checkpoint {at:%Y-%m-%d %H:%M} ET: {conflict}")
    if reason:
        skipped = CheckpointSkipped(week_id=week_id, at=at, reason=reason)
        services.store.append(Event.of(skipped, week_id=week_id, account_id=SHARED_ACCOUNT,
                                       kind=EventKind.CHECKPOINT_SKIPPED, subject=at.isoformat(),
                                       recorded_at=datetime.now(UTC)))
        services.metrics.put(Metric.CHECKPOINT_SKIPPED, 1, reason=why)
    else:
        services.metrics.put(Metric.CHECKPOINT_RAN, 1)
    return CheckpointRun(week_id=week_id, at=at, accounts=accounts).model_dump(mode="json")


def _frozen_indicators(services: Services, week_id: str, account_id: str, kind: str) -> list[Indicator]:
    event_kind, model = (EventKind.PITCH, Pitch) if kind == "pm" else (EventKind.CHAIRMAN_DECISION, ChairmanDecision)
    event = services.store.get(week_id, account_id, event_kind)
    return model.model_validate(event.payload).indicators if event else []


def decide(conviction: int, readings: list[IndicatorReading], pl_pct: float, stop_loss_pct: float,
           reduce_loss_pct: float) -> tuple[CheckpointAction, int, str]:
    """(action, conviction after, reason) from frozen indicators and P/L alone (rules: module docstring)."""
    if conviction == 0:
        return CheckpointAction.STAY, 0, "flat: nothing to manage"
    sign = 1 if conviction > 0 else -1

    def fired(role: str) -> list[str]:
        return [r.indicator.name for r in readings if r.fired and r.indicator.role == role]

    if flipping := fired("flips"):
        return CheckpointAction.FLIP, -sign, f"flip condition met: {', '.join(flipping)}"
    if invalidating := fired("invalidates"):
        return CheckpointAction.EXIT, 0, f"invalidated by {', '.join(invalidating)}"
    if pl_pct <= -stop_loss_pct:
        return CheckpointAction.EXIT, 0, f"stop loss: {pl_pct:.2f}% <= -{stop_loss_pct}%"
    confirming = fired("confirms")
    if pl_pct <= -reduce_loss_pct and not confirming and abs(conviction) > 1:
        return CheckpointAction.REDUCE, conviction - sign, f"losing {pl_pct:.2f}% with no confirming indicator"
    return CheckpointAction.STAY, conviction, f"{len(confirming)} confirming indicator(s), P/L {pl_pct:.2f}%"


def checkpoint_account(services: Services, run: CheckpointRun, account_id: str) -> dict[str, Any]:
    """Decide, record the decision, then bring the broker to it. The decision is recorded first, so a
    retry after a partial execution enforces the same decision instead of deciding again."""
    if stopped := halted(services, run.week_id, account_id, "checkpoint"):
        return stopped
    settings = services.settings
    account = settings.account_by_id[account_id]
    instrument, weekly_conviction, _ = target_of(services.store, run.week_id, account_id, account.kind)
    broker = services.broker_at(run.at)
    week_open = et(parse_week_id(run.week_id), time.fromisoformat(settings.schedule.weekly_run.time))
    subject = run.at.astimezone(ET).isoformat()
    event = services.store.get(run.week_id, account_id, EventKind.CHECKPOINT_UPDATE, subject)
    if event is None:
        update = _decide_now(services, run, account_id, account.kind, instrument, weekly_conviction, week_open, broker)
        event = Event.of(update, week_id=run.week_id, account_id=account_id, kind=EventKind.CHECKPOINT_UPDATE,
                         subject=subject, recorded_at=datetime.now(UTC))
        services.store.append(event)
    update = CheckpointUpdate.model_validate(event.payload)
    updates = of_kind(services.store.list_week(run.week_id, account_id), EventKind.CHECKPOINT_UPDATE)
    # a rerun of an older checkpoint (a manual --at, a late redrive) must not bring back a superseded decision
    later = any(u.at > run.at for u in updates)
    order_ids = [] if later else _enforce(services, broker, run, account_id, instrument, update, updates, week_open)
    reconcile_orders(services, broker, run.week_id, account_id, run.at)
    return {"account_id": account_id, "event_id": event.event_id, "orders": order_ids}


def _decide_now(services: Services, run: CheckpointRun, account_id: str, kind: str, instrument: str | None,
                weekly_conviction: int, week_open: datetime, broker: Any) -> CheckpointUpdate:
    updates = of_kind(services.store.list_week(run.week_id, account_id), EventKind.CHECKPOINT_UPDATE)
    earlier = [u for u in updates if u.at < run.at]
    conviction = max(earlier, key=lambda u: u.at).conviction_after if earlier else weekly_conviction
    readings = [read(i, services.market.price(i.instrument, run.at), services.market.price(i.instrument, week_open))
                for i in _frozen_indicators(services, run.week_id, account_id, kind)]
    position = next((p for p in broker.positions(account_id) if p.symbol == instrument), None)
    if position is not None and conviction and (position.qty > 0) != (conviction > 0):
        # the previous week's opposite position is still closing: its P/L is not this trade's
        return CheckpointUpdate(week_id=run.week_id, account_id=account_id, at=run.at, action=CheckpointAction.STAY,
                                conviction_before=conviction, conviction_after=conviction,
                                reason_delta="waiting for the opposite position to close", indicators=readings,
                                unrealized_pl=Decimal(0))
    cost = abs(position.avg_entry_price * position.qty) if position else Decimal(0)
    pl = position.unrealized_pl if position else Decimal(0)
    pl_pct = float(pl / cost * 100) if cost else 0.0
    rules = services.settings.risk.checkpoint
    # after a flip the frozen flip conditions argue for the side now held: they must not flip it back
    flipped = conviction * weekly_conviction < 0
    usable = [r for r in readings if not (flipped and r.indicator.role == "flips")]
    action, after, reason = decide(conviction, usable, pl_pct, rules.stop_loss_pct, rules.reduce_loss_pct)
    if action is CheckpointAction.FLIP and after < 0 and instrument is not None:
        asset = broker.asset(account_id, instrument)
        if not (asset.shortable and asset.easy_to_borrow):  # the short side cannot be held: exit instead
            action, after = CheckpointAction.EXIT, 0
            reason += f"; {instrument} is not easy to borrow, so EXIT instead of a short"
    return CheckpointUpdate(week_id=run.week_id, account_id=account_id, at=run.at, action=action,
                            conviction_before=conviction, conviction_after=after, reason_delta=reason,
                            indicators=readings, unrealized_pl=pl)


def _enforce(services: Services, broker: Any, run: CheckpointRun, account_id: str, instrument: str | None,
             update: CheckpointUpdate, updates: list[CheckpointUpdate], week_open: datetime) -> list[str]:
    """Orders that take the account to the conviction in force, under the client ids of the decision that set
    it (the weekly run's, or the last checkpoint that changed it): a rerun, or a later STAY, finds those orders
    and places nothing twice, and a leg that waited for a close to fill goes in under its own id."""
    if instrument is None:
        return []
    changes = [u for u in updates if u.at <= run.at and u.action is not CheckpointAction.STAY]
    origin = max(changes, key=lambda u: u.at) if changes else None
    suffix = f"-cp{origin.at.astimezone(ET):%m%d%H%M}" if origin else ""
    target = _target_shares(services, broker, run, account_id, instrument, update.conviction_after, week_open)
    weekly_prefix = f"{account_id}-{run.week_id}-"
    for order in broker.open_orders(account_id):
        ours = order.client_order_id.endswith(suffix) if suffix else (
            order.client_order_id.startswith(weekly_prefix) and "-cp" not in order.client_order_id)
        if not ours:  # superseded by the decision in force (last week's close of another symbol too)
            cancel_if_open(broker, account_id, order.client_order_id)
    legs = legs_to_target(broker.positions(account_id), instrument, target)
    ids, _ = submit_legs(services, broker, run.week_id, account_id, legs, id_suffix=suffix)
    return ids


def _target_shares(services: Services, broker: Any, run: CheckpointRun, account_id: str, instrument: str,
                   conviction: int, week_open: datetime) -> int:
    """Sized like the weekly run, at its price, so every retry computes the same target; on the weekly run's
    side never more than it aimed for (its buying-power check holds); a flip is sized and checked afresh."""
    snapshot = services.store.get(run.week_id, account_id, EventKind.POSITION_SNAPSHOT, "week_open")
    weekly = PositionSnapshot.model_validate(snapshot.payload).target_qty if snapshot else 0
    sized = target_shares(conviction, services.settings.risk.risk_budget_usd,
                          services.market.price(instrument, week_open))
    if sized and weekly and (sized > 0) == (weekly > 0):
        return sized if abs(sized) <= abs(weekly) else weekly
    if not sized:
        return 0
    shares, _ = size_target(services, broker, account_id, instrument, conviction, [], week_open)
    return shares
