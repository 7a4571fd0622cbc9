"""The week summary projection (SPEC §3.7): what each account traded and holds, from the
week's events."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from llmtrade.config import Account
from llmtrade.domain.calendar import ET
from llmtrade.events import Week
from llmtrade.mechanics.provenance import too_late
from llmtrade.mechanics.targets import target_in
from llmtrade.run_keys import WeekRun
from llmtrade.schemas import (
    SHARED_ACCOUNT,
    AccountWeek,
    CheckpointUpdate,
    LLMCallRecord,
    OrderEvent,
    OrderFinal,
    PositionSnapshot,
    ResearchCall,
    ResearchPack,
    WeekSummary,
    direction_of,
)
from llmtrade.services import Services


def project_week(services: Services, run: WeekRun) -> WeekSummary:
    """Rebuild the week record from events alone."""
    week = services.events.week(run.week_id)
    calls = week.all(LLMCallRecord)
    cost_by_account: dict[str, Decimal] = {}
    for call in calls:
        cost_by_account[call.account_id] = (cost_by_account.get(call.account_id, Decimal(0))
                                            + call.cost_usd)
    finals = week.by_subject(OrderFinal)
    accounts = [_account_week(services, run, week, account, finals,
                              cost_by_account.get(account.id, Decimal(0)))
                for account in services.settings.accounts.accounts]
    research = sum((c.cost_usd for c in week.all(ResearchCall)), Decimal(0))
    late = any(p.produced_at and too_late(services.settings, run.asof, p.produced_at)
               for p in week.all(ResearchPack))
    return WeekSummary(week_id=run.week_id, asof_et=run.asof, offline=services.offline,
                       accounts=accounts, llm_cost_usd=sum(cost_by_account.values(), Decimal(0)),
                       llm_calls=len(calls), research_cost_usd=research, late=late)


def _account_week(services: Services, run: WeekRun, week: Week, account: Account,
                  finals: dict[str, OrderFinal], llm_cost: Decimal) -> AccountWeek:
    instrument, conviction, note = target_in(week, run.week_id, account.id, account.kind)
    statuses = [_status(order.payload, finals.get(order.subject))
                for order in week.entries(OrderEvent, account.id)]
    updates = week.all(CheckpointUpdate, account.id)
    latest = max(updates, key=lambda u: u.at) if updates else None
    held = week.get(PositionSnapshot, account.id, "week_open")
    model = _label(services.settings.model_of(account.id), services.offline)
    return AccountWeek(
        account_id=account.id, kind=account.kind, model=model, instrument=instrument,
        direction=direction_of(conviction), conviction=conviction, order_statuses=statuses,
        equity=held.equity if held else None,
        conviction_now=latest.conviction_after if latest else None,
        last_checkpoint=_checkpoint_line(latest),
        holdings=[f"{p.symbol} {p.qty:+d}" for p in held.positions] if held else [],
        llm_cost_usd=llm_cost,
        # the execution's note says what waits (a deferred opening leg) or why an order was refused
        note="; ".join(dict.fromkeys(n for n in (note, held.note if held else "") if n)),
    )


def _checkpoint_line(latest: CheckpointUpdate | None) -> str | None:
    if latest is None:
        return None
    return f"{latest.at.astimezone(ET):%a %H:%M} {latest.action.value}: {latest.reason_delta}"


def _label(model: str | None, offline: bool) -> str | None:
    return f"offline:{model}" if model and offline else model


def _status(order: OrderEvent, final: OrderFinal | None = None) -> str:
    """The order as last known: how it ended if a later step saw that, else what the broker said."""
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
    summary = project_week(services, run)
    return {"event_id": services.events.record(summary, week_id=run.week_id,
                                               account_id=SHARED_ACCOUNT).event_id}
