"""Weeks the calendar makes hard: a holiday Wednesday, an early close, the two DST changes
(issue 6)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import cast

from llmtrade.adapters.broker.sim_market import SimMarket
from llmtrade.domain.calendar import ET
from llmtrade.entrypoints.runner import run_workflow
from llmtrade.schemas import SHARED_ACCOUNT, EventKind, OrderFinal, OrderSide
from llmtrade.services import Services
from llmtrade.workflow import CHECKPOINT, WEEKLY

TRADING = ("pm-gpt", "pm-gemini", "pm-claude", "pm-grok", "council")


def finals(services: Services, week: str) -> list[OrderFinal]:
    return [e.parsed() for e in services.store.list_week(week)
            if e.kind is EventKind.ORDER_FINAL]


def test_a_holiday_wednesday_queues_orders_for_thursdays_open(services: Services) -> None:
    week = "2025-01-01"  # New Year's Day: the market is closed all day
    run_workflow(WEEKLY, {"week_id": week}, services)
    orders = [e.parsed() for e in services.store.list_week(week)
              if e.kind is EventKind.ORDER]
    assert {o.account_id for o in orders} == set(TRADING)
    assert all(o.broker_order.status == "accepted" for o in orders)  # accepted is not a fill
    closed = run_workflow(CHECKPOINT, {"at": "2025-01-01T12:00:00-05:00"}, services)
    assert closed["run"]["accounts"] == []
    skipped = services.store.get(week, SHARED_ACCOUNT, EventKind.CHECKPOINT_SKIPPED,
                                 "2025-01-01T12:00:00-05:00")
    assert skipped is not None
    assert "market closed on 2025-01-01" in skipped.payload["reason"]
    assert finals(services, week) == []
    run_workflow(CHECKPOINT, {"at": "2025-01-02T12:00:00-05:00"}, services)
    filled = finals(services, week)
    assert ({f.broker_order.client_order_id for f in filled}
            == {o.request.client_order_id for o in orders})
    open_ = datetime(2025, 1, 2, 9, 30, tzinfo=ET)
    for final in filled:  # filled at Thursday's open, at the market's ask (a buy) or bid then
        placed = final.broker_order
        assert placed.status == "filled" and placed.filled_at == open_
        bid, ask = cast(SimMarket, services.market).quote(placed.symbol, open_)
        assert placed.filled_avg_price == (ask if placed.side is OrderSide.BUY else bid)
        assert final.broker_order.filled_qty == final.broker_order.qty
    # a rerun records nothing twice
    run_workflow(CHECKPOINT, {"at": "2025-01-02T12:00:00-05:00"}, services)
    assert len(finals(services, week)) == len(filled)


def test_an_early_close_skips_the_afternoon_checkpoints(services: Services) -> None:
    week = "2025-12-24"  # Christmas Eve closes at 13:00; Christmas Day is closed
    run_workflow(WEEKLY, {"week_id": week}, services)
    noon = run_workflow(CHECKPOINT, {"at": "2025-12-24T12:00:00-05:00"}, services)
    assert len(noon["run"]["accounts"]) == 5
    for at, reason in (("2025-12-24T14:00:00-05:00", "market closed at 13:00 on 2025-12-24"),
                       ("2025-12-24T15:50:00-05:00", "market closed at 13:00 on 2025-12-24"),
                       ("2025-12-25T09:00:00-05:00", "market closed on 2025-12-25")):
        assert run_workflow(CHECKPOINT, {"at": at}, services)["run"]["accounts"] == []
        skipped = services.store.get(week, SHARED_ACCOUNT, EventKind.CHECKPOINT_SKIPPED, at)
        assert skipped is not None and reason in skipped.payload["reason"]


def test_weeks_across_the_dst_changes_keep_eastern_wall_clock_times(services: Services) -> None:
    # EventBridge Scheduler fires at 08:00 New York time; in UTC that is 12:00 in summer time,
    # 13:00 in winter (DST began on 2026-03-08, ended on 2026-11-01)
    for scheduled, week, offset, checkpoint in (
        ("2026-03-11T12:00:00Z", "2026-03-11", -4, "2026-03-16T13:00:00Z"),
        ("2026-11-04T13:00:00Z", "2026-11-04", -5, "2026-11-09T14:00:00Z"),
    ):
        state = run_workflow(WEEKLY, {"scheduled_time": scheduled}, services)
        assert state["run"]["week_id"] == week
        asof = datetime.fromisoformat(state["run"]["asof"])
        assert (asof.hour, asof.minute) == (8, 0) and asof.utcoffset() == timedelta(hours=offset)
        # the Monday 09:00 checkpoint, scheduled in New York time: the same week, at 09:00 local
        state = run_workflow(CHECKPOINT, {"scheduled_time": checkpoint}, services)
        at = datetime.fromisoformat(state["run"]["at"])
        assert (state["run"]["week_id"] == week and len(state["run"]["accounts"]) == 5
                and at.hour == 9)
        assert services.store.get(week, "council", EventKind.CHECKPOINT_UPDATE,
                                  at.isoformat()) is not None


def test_an_early_close_gets_a_checkpoint_before_the_close_in_the_replay(
        services: Services) -> None:
    from llmtrade.entrypoints.cli.weekly import _checkpoint_moments

    week = "2025-12-24"  # Christmas Eve closes at 13:00
    moments = _checkpoint_moments(services.settings.schedule, week)
    on_the_day = [f"{m:%H:%M}" for m in moments if m.date() == datetime(2025, 12, 24).date()]
    assert on_the_day == ["09:00", "12:00", "12:50", "14:00", "15:50"]
    run_workflow(WEEKLY, {"week_id": week}, services)
    pre_close = run_workflow(CHECKPOINT, {"at": "2025-12-24T12:50:00-05:00"}, services)
    assert sorted(pre_close["run"]["accounts"]) == sorted(TRADING)
    assert services.store.get(week, "council", EventKind.CHECKPOINT_UPDATE,
                              "2025-12-24T12:50:00-05:00") is not None
