"""Opening the week, and the week summary projection (SPEC §3, §3.7)."""

from __future__ import annotations

from datetime import UTC, datetime, time
from decimal import Decimal
from typing import Any

from llmtrade.domain.calendar import ET, et, nyse_hours, parse_week_id, week_id_for
from llmtrade.mechanics.run_control import halted, stop_or_claim
from llmtrade.mechanics.targets import target_of
from llmtrade.ports import RunRefused
from llmtrade.run_keys import WeekRun
from llmtrade.schemas import (
    SHARED_ACCOUNT,
    AccountWeek,
    Event,
    EventKind,
    LLMCallRecord,
    OrderEvent,
    OrderFinal,
    PositionSnapshot,
    WeekSummary,
    direction_of,
    of_kind,
)
from llmtrade.services import Services


def open_week(services: Services, execution_input: dict[str, Any], execution: str | None = None) -> dict[str, Any]:
    """Resolve the week from `week_id` (a manual start) or `scheduled_time` (EventBridge Scheduler); stop at
    the kill switch or a duplicate delivery of the schedule (steps.opening). `execution`: the execution name."""
    settings = services.settings
    if week_id := execution_input.get("week_id"):
        day = parse_week_id(week_id)
        asof = et(day, time.fromisoformat(settings.schedule.weekly_run.time))
    elif scheduled := execution_input.get("scheduled_time"):
        asof = datetime.fromisoformat(scheduled.replace("Z", "+00:00")).astimezone(ET)
        week_id = week_id_for(asof)
    else:
        raise ValueError("the weekly run needs week_id (YYYY-MM-DD, a Wednesday) or scheduled_time")
    # a week outside the market calendar fails here, before anything is written; the exchange's own list,
    # not the broker's calendar: this function is given no broker keys
    nyse_hours(asof.date())
    if stopped := stop_or_claim(services, "weekly", week_id, asof, execution_input, execution):
        return stopped.model_dump(mode="json")
    complete = services.store.get(week_id, SHARED_ACCOUNT, EventKind.WEEK_SUMMARY) is not None
    if not complete and (conflict := services.replay_conflict(asof)):
        raise RunRefused(f"week {week_id}: {conflict}")
    return WeekRun(
        week_id=week_id, asof=asof, pm_accounts=[a.id for a in settings.pm_accounts],
        accounts=[a.id for a in settings.accounts.accounts],
        research_poll_seconds=settings.models.research.poll_seconds,
    ).model_dump(mode="json")


def project_week(services: Services, run: WeekRun) -> WeekSummary:
    """Rebuild the week record from events alone."""
    store, settings = services.store, services.settings
    events = store.list_week(run.week_id)
    calls: list[LLMCallRecord] = of_kind(events, EventKind.LLM_CALL)
    cost_by_account: dict[str, Decimal] = {}
    for call in calls:
        cost_by_account[call.account_id] = cost_by_account.get(call.account_id, Decimal(0)) + call.cost_usd
    finals = {e.subject: OrderFinal.model_validate(e.payload) for e in events if e.kind is EventKind.ORDER_FINAL}
    accounts = []
    for account in settings.accounts.accounts:
        instrument, conviction, note = target_of(store, run.week_id, account.id, account.kind)
        statuses = [_status(OrderEvent.model_validate(e.payload), finals.get(e.subject)) for e in events
                    if e.kind is EventKind.ORDER and e.account_id == account.id]
        updates = [u for u in of_kind(events, EventKind.CHECKPOINT_UPDATE) if u.account_id == account.id]
        latest = max(updates, key=lambda u: u.at) if updates else None
        snapshot = store.get(run.week_id, account.id, EventKind.POSITION_SNAPSHOT, "week_open")
        held = PositionSnapshot.model_validate(snapshot.payload) if snapshot else None
        accounts.append(AccountWeek(
            account_id=account.id, kind=account.kind, model=_label(settings.model_of(account.id), services.offline),
            instrument=instrument,
            direction=direction_of(conviction),
            conviction=conviction, order_statuses=statuses, equity=held.equity if held else None,
            conviction_now=latest.conviction_after if latest else None,
            last_checkpoint=f"{latest.at.astimezone(ET):%a %H:%M} {latest.action.value}: {latest.reason_delta}"
            if latest else None,
            holdings=[f"{p.symbol} {p.qty:+d}" for p in held.positions] if held else [],
            llm_cost_usd=cost_by_account.get(account.id, Decimal(0)),
            # the execution's own note says what waits (a deferred opening leg) or why an order was refused
            note="; ".join(dict.fromkeys(n for n in (note, held.note if held else "") if n)),
        ))
    research = sum((c.cost_usd for c in of_kind(events, EventKind.RESEARCH_CALL)), Decimal(0))
    return WeekSummary(week_id=run.week_id, asof_et=run.asof, offline=services.offline, accounts=accounts,
                       llm_cost_usd=sum(cost_by_account.values(), Decimal(0)), llm_calls=len(calls),
                       research_cost_usd=research)


def _label(model: str | None, offline: bool) -> str | None:
    return f"offline:{model}" if model and offline else model


def _status(order: OrderEvent, final: OrderFinal | None = None) -> str:
    """The order as last known: how it ended when a later step saw it end, else what the broker said then."""
    what = f"{order.leg} {order.request.side.value} {order.request.qty} {order.request.symbol}"
    if order.rejected:
        return f"{what}: REJECTED ({order.rejected})"
    if final is not None:
        placed = final.broker_order
        if placed.status == "filled" and placed.filled_avg_price is not None:
            return f"{what}: filled @ {placed.filled_avg_price}"
        return f"{what}: {placed.status}"
    return f"{what}: {order.broker_order.status if order.broker_order else 'deferred'}"


def week_summary(services: Services, run: WeekRun) -> dict[str, Any]:
    if stopped := halted(services, run.week_id, SHARED_ACCOUNT, "week_summary"):
        return stopped
    summary = project_week(services, run)
    event = Event.of(summary, week_id=run.week_id, account_id=SHARED_ACCOUNT, kind=EventKind.WEEK_SUMMARY,
                     recorded_at=datetime.now(UTC))
    services.store.append(event)
    return {"event_id": event.event_id}
