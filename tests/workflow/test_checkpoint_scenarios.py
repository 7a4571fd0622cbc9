"""The measured cases of issue 12 as scenarios through the real workflow (offline, scripted
prices): a flip the old thesis must not undo, a carried position's stop measured from this week's
entry."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from llmtrade.domain.calendar import ET
from llmtrade.entrypoints.runner import run_workflow
from llmtrade.reports.week_trading import checkpoint_equity
from llmtrade.schemas import (
    ChairmanDecision,
    CheckpointAction,
    CheckpointUpdate,
    Direction,
    Indicator,
    Postmortem,
)
from llmtrade.services import Services
from llmtrade.steps.postmortem import settle_week
from llmtrade.workflow import WEEKLY

from tests.workflow.scripted import Quote, always, never, scripted
from tests.workflow.test_trading import _pitching, checkpoint


def _on_spy(name: str, comparison: str, threshold: float, role: str) -> Indicator:
    return Indicator.model_validate({"name": name, "measure": "week_return_pct",
                                     "instrument": "SPY", "comparison": comparison,
                                     "threshold": threshold, "role": role})


def test_a_flip_is_not_undone_by_the_thesis_it_flipped_away_from(
        services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    # the measured week: long SPY flips short on Friday 15:50; on Monday the old thesis's
    # invalidation fires (and its flip condition still holds): the short is kept
    week = "2026-11-11"
    _pitching(monkeypatch, {"instrument": "SPY", "conviction": 2, "indicators": [
        _on_spy("falls 2 %: short it", "<", -2.0, "flips"),
        _on_spy("falls 3 %: wrong", "<", -3.0, "invalidates"),
        _on_spy("still falling", "<", -0.5, "confirms")]})
    run = datetime(2026, 11, 11, 8, 0, tzinfo=ET)
    friday, monday = datetime(2026, 11, 13, 15, 50, tzinfo=ET), datetime(2026, 11, 16, tzinfo=ET)
    opening = services.market.price("SPY", run)
    services = scripted(services, Quote("SPY", opening, run, friday),
                        Quote("SPY", opening * Decimal("0.975"), friday, monday),
                        Quote("SPY", opening * Decimal("0.96"), monday))
    run_workflow(WEEKLY, {"week_id": week}, services)
    for at in ("2026-11-11 12:00", "2026-11-13 15:50", "2026-11-16 09:00", "2026-11-16 12:00"):
        checkpoint(services, at)
    updates = services.events.week(week, "pm-gpt").all(CheckpointUpdate)
    assert [(u.action, u.conviction_after) for u in updates] == [
        (CheckpointAction.STAY, 2), (CheckpointAction.FLIP, -1), (CheckpointAction.STAY, -1),
        (CheckpointAction.STAY, -1)]
    assert all("indicators retired" in u.reason_delta and u.indicators == [] and
               u.unrealized_pl > 0 for u in updates[2:])
    [held] = services.broker_at(monday + timedelta(hours=12, minutes=5)).positions("pm-gpt")
    assert held.symbol == "SPY" and held.qty < 0
    settle_week(services, week, datetime(2026, 11, 18, 8, 0, tzinfo=ET))
    outcome = services.events.get(Postmortem, week, "pm-gpt")
    assert outcome is not None and outcome.flipped and not outcome.invalidation_fired
    assert outcome.indicators_fired == ["falls 2 %: short it", "still falling"]


def test_a_carried_positions_stop_counts_from_this_weeks_entry(
        services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    # long SPY two weeks running: up 8 % in the first (carried at a lifetime gain), down 4 % from
    # the second week's entry mark by Wednesday noon: past the 3 % stop, so EXIT
    _pitching(monkeypatch, {"instrument": "SPY", "conviction": 2,
                            "indicators": [never("invalidates", "SPY")]})
    first = datetime(2026, 11, 18, 8, 0, tzinfo=ET)
    rally = datetime(2026, 11, 20, 9, 0, tzinfo=ET)
    drop = datetime(2026, 11, 25, 10, 0, tzinfo=ET)
    price = services.market.price("SPY", first)
    services = scripted(services, Quote("SPY", price, first, rally),
                        Quote("SPY", price * Decimal("1.08"), rally, drop),
                        Quote("SPY", price * Decimal("1.08") * Decimal("0.96"), drop))
    run_workflow(WEEKLY, {"week_id": "2026-11-18"}, services)
    run_workflow(WEEKLY, {"week_id": "2026-11-25"}, services)
    before = services.broker_at(datetime(2026, 11, 25, 11, 59, tzinfo=ET))
    [held] = before.positions("pm-gpt")
    assert held.unrealized_pl > 0  # the broker's lifetime figure: still a gain
    checkpoint(services, "2026-11-25 12:00")
    week = services.events.week("2026-11-25", "pm-gpt")
    [update] = week.all(CheckpointUpdate)
    assert update.action is CheckpointAction.EXIT
    assert update.reason_delta.startswith("stop loss: -4.0")
    # the checkpoint table's and the chart's equity is the broker's before the exit, not above it
    assert update.unrealized_pl < 0
    assert checkpoint_equity(week, update) == before.account("pm-gpt").equity


def test_the_council_is_managed_by_the_chairmans_own_indicators(
        services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    from llmtrade.mechanics.model_calls import ask as real_ask
    from llmtrade.steps import council

    def ask(services_: Services, **kwargs: Any) -> tuple[Any, str]:
        """Every PM pitches long SPY with an indicator that never fires; the chairman states one
        that always does, on the trade it selects."""
        answer, by = real_ask(services_, **kwargs)
        if kwargs["purpose"] == "pitch":
            return answer.model_copy(update={"instrument": "SPY", "direction": Direction.LONG,
                                             "conviction": 2,
                                             "indicators": [never("invalidates", "SPY")]}), by
        if kwargs["purpose"].startswith("chairman"):
            held = answer.selected_trade.instrument
            return answer.model_copy(update={"indicators": [always("invalidates", held)]}), by
        return answer, by

    monkeypatch.setattr(council, "ask", ask)
    run_workflow(WEEKLY, {"week_id": "2026-11-25"}, services)
    decision = services.events.get(ChairmanDecision, "2026-11-25", "council")
    assert decision is not None and decision.conviction != 0
    assert [i.name for i in decision.indicators] == ["always invalidates"]  # not a pitch's
    checkpoint(services, "2026-11-25 12:00")
    update = services.events.get(CheckpointUpdate, "2026-11-25", "council",
                                 "2026-11-25T12:00:00-05:00")
    assert update is not None and update.action is CheckpointAction.EXIT
    assert update.reason_delta == "invalidated by always invalidates"
    assert [r.indicator.name for r in update.indicators] == ["always invalidates"]
