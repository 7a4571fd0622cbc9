"""The weekly and checkpoint workflows run in-process from the declaration, offline."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from llmtrade.adapters.llm.offline import OfflineLLM
from llmtrade.domain.calendar import ET
from llmtrade.entrypoints.runner import run_workflow
from llmtrade.ports import LLMError, LLMRequest, LLMResponse
from llmtrade.schemas import (
    SHARED_ACCOUNT,
    ChairmanDecision,
    CheckpointAction,
    CheckpointUpdate,
    Direction,
    EventKind,
    PeerReview,
    Pitch,
    WeekSummary,
)
from llmtrade.services import Services
from llmtrade.workflow import CHECKPOINT, WEEKLY

from tests.conftest import WEEK
from tests.workflow.expected import assert_complete_week, stored
from tests.workflow.scripted import Quote, always, scripted
from tests.workflow.test_trading import without_protective_stop


def test_a_week_produces_every_event_once_and_a_rerun_adds_nothing(services: Services) -> None:
    state = run_workflow(WEEKLY, {"week_id": WEEK}, services)
    assert state["run"]["week_id"] == WEEK and len(state["results"]["pitches"]) == 4
    first = services.store.list_week(WEEK)
    assert_complete_week(first)
    run_workflow(WEEKLY, {"week_id": WEEK}, services)
    assert services.store.list_week(WEEK) == first


def test_reviews_are_anonymous_and_never_of_ones_own_pitch(services: Services) -> None:
    run_workflow(WEEKLY, {"week_id": WEEK}, services)
    events = services.store.list_week(WEEK)
    for event in (e for e in events if e.kind is EventKind.PEER_REVIEW):
        review = PeerReview.model_validate(event.payload)
        assert f"{WEEK}:{review.reviewer_account}" not in review.label_map.values()
        assert len(review.reviews) == 3
    for call in (e for e in events if e.kind is EventKind.LLM_CALL
                 and e.payload["purpose"] in ("review", "chairman")):
        prompt = json.dumps(call.payload["messages"])
        for pm in services.settings.models.pms:
            assert pm.openrouter_model not in prompt and pm.name not in prompt


def test_the_chairman_sees_aggregated_scores_and_the_summary_matches_the_events(
        services: Services) -> None:
    run_workflow(WEEKLY, {"week_id": WEEK}, services)
    decision = ChairmanDecision.model_validate(
        stored(services.store, WEEK, "council", EventKind.CHAIRMAN_DECISION).payload)
    assert [a.reviews for a in decision.aggregates] == [3, 3, 3, 3]
    summary = WeekSummary.model_validate(
        stored(services.store, WEEK, SHARED_ACCOUNT, EventKind.WEEK_SUMMARY).payload)
    council = next(a for a in summary.accounts if a.account_id == "council")
    assert ((council.instrument, council.conviction)
            == (decision.selected_trade.instrument, decision.conviction))
    # queued at 08:00
    assert all(s.endswith("accepted") for a in summary.accounts for s in a.order_statuses)
    assert summary.offline and summary.llm_calls == 9


def test_a_scheduled_start_resolves_the_week_in_eastern_time(services: Services) -> None:
    state = run_workflow(WEEKLY, {"scheduled_time": "2026-11-25T13:00:00Z"}, services)
    assert (state["run"]["week_id"] == WEEK
            and state["run"]["asof"].startswith("2026-11-25T08:00:00-05:00"))


class FlakyLLM:
    """Answers garbage for some models (even after the repair prompt) and fails outright for
    others."""

    def __init__(self, garbage: set[str], down: set[str]) -> None:
        self.garbage, self.down, self.inner = garbage, down, OfflineLLM()

    def complete(self, request: LLMRequest) -> LLMResponse:
        if request.model in self.down:
            raise LLMError("502 model down")
        response = self.inner.complete(request)
        return (response.model_copy(update={"content": "not json"})
                if request.model in self.garbage else response)


def test_a_failing_model_goes_flat_and_the_council_goes_on(services: Services) -> None:
    flaky = dataclasses.replace(services, llm=FlakyLLM(garbage={"openai/gpt-5.1"},
                                                       down={"x-ai/grok-4"}))
    run_workflow(WEEKLY, {"week_id": WEEK}, flaky)
    events = services.store.list_week(WEEK)
    failures = {(e.account_id, e.subject): e.payload["reason"] for e in events
                if e.kind is EventKind.MODEL_FAILURE}
    assert set(failures) == {("pm-gpt", "pitch"), ("pm-gpt", "review"), ("pm-grok", "pitch"),
                             ("pm-grok", "review"), ("council", "chairman")}
    assert ("2 attempts" in failures[("pm-gpt", "pitch")]
            and "502 model down" in failures[("pm-grok", "pitch")])
    repair = [e for e in events if e.kind is EventKind.LLM_CALL and e.account_id == "pm-gpt" and
              e.payload["purpose"] == "pitch"]
    assert ([c.payload["attempt"] for c in repair] == [1, 2]
            and "did not validate" in json.dumps(repair[1].payload))
    summary = WeekSummary.model_validate(
        stored(services.store, WEEK, SHARED_ACCOUNT, EventKind.WEEK_SUMMARY).payload)
    by_account = {a.account_id: a for a in summary.accounts}
    assert by_account["pm-gpt"].direction == "FLAT" and "FLAT:" in by_account["pm-gpt"].note
    assert by_account["pm-gpt"].order_statuses == []
    # two valid pitches are below the quorum of three: the council is FLAT too, with the reason
    assert (by_account["council"].direction == "FLAT"
            and "quorum not met" in by_account["council"].note)
    assert len([e for e in events if e.kind is EventKind.PITCH]) == 2


def test_checkpoints_decide_from_frozen_indicators_and_skip_closed_days(services: Services) -> None:
    run_workflow(WEEKLY, {"week_id": WEEK}, services)
    research_before = len([e for e in services.store.list_week(WEEK)
                           if e.kind is EventKind.RESEARCH_PACK])
    at = datetime(2026, 11, 25, 12, 0, tzinfo=ET).isoformat()
    state = run_workflow(CHECKPOINT, {"at": at}, services)
    assert len(state["results"]["checkpoints"]) == 5
    updates = [e for e in services.store.list_week(WEEK)
               if e.kind is EventKind.CHECKPOINT_UPDATE]
    assert ({u.account_id for u in updates}
            == {"pm-gpt", "pm-gemini", "pm-claude", "pm-grok", "council"})
    for update in updates:
        pitch_or_decision = services.store.get(WEEK, update.account_id, EventKind.PITCH) or \
            services.store.get(WEEK, update.account_id, EventKind.CHAIRMAN_DECISION)
        assert pitch_or_decision is not None
        frozen = pitch_or_decision.payload["indicators"]
        assert [r["indicator"] for r in update.payload["indicators"]] == frozen
    run_workflow(CHECKPOINT, {"at": at}, services)  # rerun: nothing new
    assert len([e for e in services.store.list_week(WEEK)
                if e.kind is EventKind.CHECKPOINT_UPDATE]) == 5
    # no new research mid-week
    assert len([e for e in services.store.list_week(WEEK)
                if e.kind is EventKind.RESEARCH_PACK]) == research_before
    thanksgiving = run_workflow(CHECKPOINT, {"scheduled_time": "2026-11-26T17:00:00Z"}, services)
    assert (thanksgiving["run"]["accounts"] == []
            and thanksgiving["results"]["checkpoints"] == [])
    skipped = stored(services.store, WEEK, SHARED_ACCOUNT, EventKind.CHECKPOINT_SKIPPED,
                     "2026-11-26T12:00:00-05:00")
    assert "market closed on 2026-11-26" in skipped.payload["reason"]


def test_an_exit_before_the_open_cancels_the_queued_order(
        services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    from llmtrade.run_keys import CheckpointRun
    from llmtrade.steps import checkpoint as step

    _week(services, WEEK, monkeypatch, {"instrument": "SPY", "conviction": 2,
                                        "indicators": [always("invalidates", "SPY")]})
    broker = services.broker_at(datetime(2026, 11, 25, 9, 0, tzinfo=ET))
    assert [(o.symbol, o.type, o.status) for o in broker.open_orders("pm-gpt")] == [
        ("SPY", "market", "accepted"), ("SPY", "stop", "held")]  # the entry and its stop
    nine = datetime(2026, 11, 25, 9, 0, tzinfo=ET)
    result = step.checkpoint_account(services, CheckpointRun(week_id=WEEK, at=nine, accounts=[]),
                                     "pm-gpt")
    update = services.events.get(CheckpointUpdate, WEEK, "pm-gpt", nine.isoformat())
    assert update is not None and update.action is CheckpointAction.EXIT
    assert result["orders"] == []
    later = services.broker_at(datetime(2026, 11, 25, 12, 0, tzinfo=ET))
    assert later.positions("pm-gpt") == [] and later.open_orders("pm-gpt") == []


class SwappingLLM(OfflineLLM):
    """A router that silently falls back to another model."""

    def complete(self, request: LLMRequest) -> LLMResponse:
        return super().complete(request).model_copy(update={"model": "meta/llama-4"})


def test_a_silently_swapped_model_is_a_failure_not_a_pitch(services: Services) -> None:
    run_workflow(WEEKLY, {"week_id": WEEK}, dataclasses.replace(services, llm=SwappingLLM()))
    failure = stored(services.store, WEEK, "pm-claude", EventKind.MODEL_FAILURE, "pitch")
    assert ("asked anthropic/claude-sonnet-4.5 but meta/llama-4 answered"
            in failure.payload["reason"])
    calls = [e for e in services.store.list_week(WEEK, "pm-claude")
             if e.kind is EventKind.LLM_CALL]
    # recorded all the same
    assert calls and calls[0].payload["model_answered"] == "meta/llama-4"


def test_offline_answers_say_so_in_the_events(services: Services) -> None:
    run_workflow(WEEKLY, {"week_id": WEEK}, services)
    pitch = Pitch.model_validate(stored(services.store, WEEK, "pm-gpt", EventKind.PITCH).payload)
    assert pitch.model == "openai/gpt-5.1" and pitch.answered_by == "offline:openai/gpt-5.1"
    summary = WeekSummary.model_validate(
        stored(services.store, WEEK, SHARED_ACCOUNT, EventKind.WEEK_SUMMARY).payload)
    assert {a.model for a in summary.accounts if a.model} == {f"offline:{m}" for m in (
        "openai/gpt-5.1", "google/gemini-3-pro-preview", "anthropic/claude-sonnet-4.5",
        "x-ai/grok-4")}


def test_an_order_placed_by_a_racing_rerun_is_recorded_as_placed_not_rejected(
        services: Services) -> None:
    from llmtrade.domain.sizing import Leg
    from llmtrade.mechanics.orders import StepClock, submit_legs
    from llmtrade.ports import BrokerRejected
    from llmtrade.schemas import BrokerOrder, OrderRequest, OrderSide

    inner = services.broker_at(datetime(2026, 11, 25, 8, 0, tzinfo=ET))

    class RacingBroker:
        """Another execution submits the same client_order_id first; ours is refused as a
        duplicate."""

        def __getattr__(self, name: str) -> Any:
            return getattr(inner, name)

        def submit_order(self, account_id: str, order: OrderRequest) -> BrokerOrder:
            inner.submit_order(account_id, order)
            raise BrokerRejected(422, 40010001, "client_order_id must be unique")

    racing = dataclasses.replace(services, broker_at=lambda moment: RacingBroker())
    worked = submit_legs(racing, StepClock(racing, datetime(2026, 11, 25, 8, 0, tzinfo=ET)), WEEK,
                         "pm-gpt", [Leg(name="open", symbol="SPY", side=OrderSide.BUY, qty=3)])
    ids, note = worked.ids, worked.note
    event = stored(services.store, WEEK, "pm-gpt", EventKind.ORDER, ids[0])
    assert note == "" and event.payload["rejected"] is None
    assert event.payload["broker_order"]["status"] == "accepted"
    assert len(inner.open_orders("pm-gpt")) == 1


def test_a_broker_rejection_is_recorded_and_the_week_goes_on(services: Services) -> None:
    from llmtrade.ports import Broker, BrokerRejected
    from llmtrade.schemas import BrokerOrder, OrderRequest

    def rejecting_broker_at(moment: datetime) -> Broker:
        inner = services.broker_at(moment)

        class Rejecting:
            def __getattr__(self, name: str) -> Any:
                return getattr(inner, name)

            def submit_order(self, account_id: str, order: OrderRequest) -> BrokerOrder:
                raise BrokerRejected(403, 40310000, "insufficient buying power")

        return Rejecting()

    run_workflow(WEEKLY, {"week_id": WEEK},
                 dataclasses.replace(services, broker_at=rejecting_broker_at))
    orders = [e for e in services.store.list_week(WEEK) if e.kind is EventKind.ORDER]
    assert len(orders) == 5 and all("403 40310000: insufficient buying power"
                                    in o.payload["rejected"] for o in orders)
    summary = WeekSummary.model_validate(
        stored(services.store, WEEK, SHARED_ACCOUNT, EventKind.WEEK_SUMMARY).payload)
    # the reason is shown, not just "rejected"
    for account in (a for a in summary.accounts if a.kind != "flat"):
        [status] = account.order_statuses
        assert (status.startswith("open ")
                and "REJECTED (403 40310000: insufficient buying power)" in status)
        assert "rejected: 403" in account.note
    snapshot = stored(services.store, WEEK, "council", EventKind.POSITION_SNAPSHOT, "week_open")
    assert "rejected: 403" in snapshot.payload["note"]


def _week(services: Services, week: str, monkeypatch: pytest.MonkeyPatch,
          pitch: dict[str, Any]) -> None:
    """Run a week in which pm-gpt pitches exactly `pitch` (instrument, conviction)."""
    from llmtrade.mechanics.model_calls import ask as real_ask
    from llmtrade.steps import council

    def ask(services_: Services, **kwargs: Any) -> tuple[Any, str]:
        answer, by = real_ask(services_, **kwargs)
        if kwargs["account_id"] == "pm-gpt" and kwargs["purpose"] == "pitch":
            direction = Direction.LONG if pitch["conviction"] > 0 else Direction.SHORT
            answer = answer.model_copy(update={**pitch, "direction": direction})
        return answer, by

    monkeypatch.setattr(council, "ask", ask)
    run_workflow(WEEKLY, {"week_id": week}, services)


def test_a_flip_opens_the_new_side_once_the_close_has_filled(
        services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    _week(services, "2026-11-04", monkeypatch, {"instrument": "SPY", "conviction": 2})
    _week(services, "2026-11-11", monkeypatch, {"instrument": "SPY", "conviction": -2})
    order = services.store.list_week("2026-11-11", "pm-gpt")
    assert ([e.subject for e in order if e.kind is EventKind.ORDER]
            == ["pm-gpt-2026-11-11-SPY-close"])
    summary = WeekSummary.model_validate(
        stored(services.store, "2026-11-11", SHARED_ACCOUNT, EventKind.WEEK_SUMMARY).payload)
    gpt_week = next(a for a in summary.accounts if a.account_id == "pm-gpt")
    # the summary says what is pending
    assert "opening SPY leg waits for the close to fill" in gpt_week.note
    nine = run_workflow(CHECKPOINT, {"at": "2026-11-11T09:00:00-05:00"}, services)
    gpt = next(r for r in nine["results"]["checkpoints"] if r["account_id"] == "pm-gpt")
    # the weekly close, still queued: nothing new
    assert gpt["orders"] == ["pm-gpt-2026-11-11-SPY-close"]
    opened = services.broker_at(datetime(2026, 11, 11, 9, 1, tzinfo=ET)).open_orders("pm-gpt")
    assert [o.client_order_id for o in opened] == ["pm-gpt-2026-11-11-SPY-close"]
    noon = run_workflow(CHECKPOINT, {"at": "2026-11-11T12:00:00-05:00"}, services)
    gpt = next(r for r in noon["results"]["checkpoints"] if r["account_id"] == "pm-gpt")
    assert gpt["orders"] == ["pm-gpt-2026-11-11-SPY-open"]  # the weekly run's own leg, now placed
    broker = services.broker_at(datetime(2026, 11, 12, 12, 0, tzinfo=ET))
    [held] = broker.positions("pm-gpt")
    assert held.symbol == "SPY" and held.qty < 0


def test_conviction_carries_from_the_latest_checkpoint_in_market_time(
        services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    # the weekly order's fill
    opening = services.market.price("SPY", datetime(2026, 11, 25, 9, 30, tzinfo=ET))
    # SPY is 10 % down around Wednesday 14:00 only: a stop loss EXITs then; Monday and Tuesday STAY
    # (the checkpoint's rule, not the broker's resting stop, which would have sold at 13:30)
    services = scripted(without_protective_stop(services), Quote("SPY", opening * Decimal("0.9"),
                                        datetime(2026, 11, 25, 13, 30, tzinfo=ET),
                                        datetime(2026, 11, 25, 14, 30, tzinfo=ET)))
    _week(services, WEEK, monkeypatch, {"instrument": "SPY", "conviction": 2,
                                        "indicators": [always("confirms", "SPY")]})
    from llmtrade.run_keys import CheckpointRun
    from llmtrade.steps import checkpoint as step

    # Wednesday recorded later; pm-gpt's alone: the others' orders are not scripted
    for at in ("2026-11-30T12:00:00", "2026-11-25T14:00:00", "2026-12-01T12:00:00"):
        run = CheckpointRun(week_id=WEEK, at=datetime.fromisoformat(at).replace(tzinfo=ET),
                            accounts=[])
        step.checkpoint_account(services, run, "pm-gpt")
    updates = services.events.week(WEEK, "pm-gpt").by_subject(CheckpointUpdate)
    monday, wednesday, tuesday = (updates[f"{at}-05:00"] for at in (
        "2026-11-30T12:00:00", "2026-11-25T14:00:00", "2026-12-01T12:00:00"))
    assert (monday.action, wednesday.action, tuesday.action) == (
        CheckpointAction.STAY, CheckpointAction.EXIT, CheckpointAction.STAY)
    assert tuesday.conviction_before == monday.conviction_after == 2


def test_the_summary_shows_what_each_account_holds_at_the_run(
        services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    _week(services, "2026-11-04", monkeypatch, {"instrument": "SPY", "conviction": 2})
    _week(services, "2026-11-11", monkeypatch, {"instrument": "TLT", "conviction": 1})
    summary = WeekSummary.model_validate(
        stored(services.store, "2026-11-11", SHARED_ACCOUNT, EventKind.WEEK_SUMMARY).payload)
    gpt = next(a for a in summary.accounts if a.account_id == "pm-gpt")
    assert gpt.holdings and gpt.holdings[0].startswith("SPY +") and gpt.instrument == "TLT"
    assert (gpt.order_statuses[0].startswith("close sell")
            and gpt.order_statuses[1].startswith("open buy"))
    flat = next(a for a in summary.accounts if a.account_id == "flat")
    assert flat.equity == 100000 and flat.holdings == []


def test_fan_outs_run_concurrently_locally(services: Services) -> None:
    import threading

    class OverlapLLM(OfflineLLM):
        """Counts how many calls are in flight at once; each waits until a second one arrives
        (or 0.5 s)."""

        def __init__(self) -> None:
            self.in_flight, self.most = 0, 0
            self.lock, self.arrived = threading.Lock(), threading.Barrier(2)

        def complete(self, request: LLMRequest) -> LLMResponse:
            with self.lock:
                self.in_flight += 1
                self.most = max(self.most, self.in_flight)
            try:
                self.arrived.wait(timeout=0.5)
            except threading.BrokenBarrierError:
                pass
            finally:
                with self.lock:
                    self.in_flight -= 1
            return super().complete(request)

    llm = OverlapLLM()
    run_workflow(WEEKLY, {"week_id": WEEK}, dataclasses.replace(services, llm=llm))
    assert llm.most >= 2


def test_a_function_refuses_an_action_it_does_not_serve(services: Services) -> None:
    from llmtrade.entrypoints.dispatch import UnknownAction, handle

    with pytest.raises(UnknownAction,
                       match="the execute function does not serve action 'pitch'"):
        handle("execute", {"action": "pitch", "run": {}, "item": "pm-gpt"}, services)
    with pytest.raises(UnknownAction, match="'launch'"):
        handle("council", {"action": "launch"}, services)
