"""Trading behaviour checked on the broker's own state, not only on event counts (issue 6)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import pytest
from llmtrade.adapters.broker.sim_market import SimMarket
from llmtrade.domain.calendar import ET
from llmtrade.entrypoints.runner import run_workflow
from llmtrade.schemas import CheckpointAction, CheckpointUpdate, EventKind
from llmtrade.services import Services
from llmtrade.workflow import CHECKPOINT, WEEKLY

from tests.conftest import WEEK
from tests.workflow.expected import stored
from tests.workflow.scripted import Quote, always, never, scripted


def broker_state(services: Services, at: datetime) -> dict[str, Any]:
    """Everything the broker holds for every trading account at a moment: positions, open orders,
    cash."""
    broker = services.broker_at(at)
    state = {}
    for account in services.settings.trading_accounts:
        state[account.id] = (
            sorted((p.symbol, p.qty) for p in broker.positions(account.id)),
            sorted((o.client_order_id, o.status, o.qty) for o in broker.open_orders(account.id)),
            broker.account(account.id).cash,
        )
    return state


def checkpoint(services: Services, when: str) -> dict[str, Any]:
    return run_workflow(CHECKPOINT,
                        {"at": datetime.fromisoformat(when).replace(tzinfo=ET).isoformat()},
                        services)


def test_rerunning_a_checkpoint_leaves_the_broker_as_the_first_run_did(
        services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    # every account goes long SPY, which opens Monday 10 % down: the 09:00 checkpoint's stops act
    _pitching(monkeypatch, {"instrument": "SPY", "conviction": 2,
                            "indicators": [never("invalidates", "SPY")]})
    friday = services.market.price("SPY", datetime(2026, 11, 28, 13, 0, tzinfo=ET))
    services = scripted(services, Quote("SPY", friday * Decimal("0.9"),
                                        datetime(2026, 11, 30, 0, 0, tzinfo=ET)))
    run_workflow(WEEKLY, {"week_id": WEEK}, services)
    checkpoint(services, "2026-11-30 09:00")
    updates = [e.parsed() for e in services.store.list_week(WEEK)
               if e.kind is EventKind.CHECKPOINT_UPDATE]
    assert any(u.action.value in ("REDUCE", "EXIT")
               for u in updates), "the scenario needs an order to place"
    moment = datetime(2026, 11, 30, 9, 1, tzinfo=ET)
    first = broker_state(services, moment)
    checkpoint(services, "2026-11-30 09:00")
    assert broker_state(services, moment) == first
    # and once the market opens, every account holds what its recorded conviction says
    after_open = datetime(2026, 11, 30, 9, 45, tzinfo=ET)
    held = broker_state(services, after_open)
    for update in updates:
        positions = held[update.account_id][0]
        if update.conviction_after == 0:
            assert positions == [] or all(q == 0 for _, q in positions)
        else:
            assert positions and (positions[0][1] > 0) == (update.conviction_after > 0)


def without_protective_stop(services: Services) -> Services:
    import dataclasses

    risk = services.settings.risk
    orders = risk.orders.model_copy(update={"protective_stop": False})
    settings = services.settings.model_copy(
        update={"risk": risk.model_copy(update={"orders": orders})})
    return dataclasses.replace(services, settings=settings)


def _pitching(monkeypatch: pytest.MonkeyPatch, pitch: dict[str, Any]) -> None:
    """Every PM pitches exactly `pitch` (instrument, conviction) this week."""
    from llmtrade.mechanics.model_calls import ask as real_ask
    from llmtrade.schemas import Direction
    from llmtrade.steps import council

    def ask(services_: Services, **kwargs: Any) -> tuple[Any, str]:
        answer, by = real_ask(services_, **kwargs)
        if kwargs["purpose"] == "pitch":
            direction = Direction.LONG if pitch["conviction"] > 0 else Direction.SHORT
            answer = answer.model_copy(update={**pitch, "direction": direction})
        return answer, by

    monkeypatch.setattr(council, "ask", ask)


def test_a_target_beyond_the_buying_power_is_sized_down_not_rejected(
        services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    import dataclasses

    risk = services.settings.risk.model_copy(update={"risk_budget_usd": 5_000_000})
    services = dataclasses.replace(services,
                                   settings=services.settings.model_copy(update={"risk": risk}))
    _pitching(monkeypatch, {"instrument": "SPY", "conviction": 2})
    run_workflow(WEEKLY, {"week_id": WEEK}, services)
    orders = [e.parsed() for e in services.store.list_week(WEEK) if e.kind is EventKind.ORDER]
    assert orders and all(o.rejected is None for o in orders)
    snapshot = stored(services.store, WEEK, "pm-gpt", EventKind.POSITION_SNAPSHOT,
                      "week_open").parsed()
    assert "sized down" in snapshot.note and snapshot.target_qty > 0
    later = datetime(2026, 11, 25, 10, 0, tzinfo=ET)
    state = services.broker_at(later).account("pm-gpt")
    # Reg T: at most twice the equity in positions (the cash never goes to -$4.9M as it once did)
    assert state.cash > -state.equity * 2 and snapshot.target_qty * 600 < 2 * 100_000 * 1.2


def test_the_simulated_broker_refuses_an_order_beyond_its_buying_power(services: Services) -> None:
    from llmtrade.ports import BrokerRejected
    from llmtrade.schemas import OrderRequest, OrderSide

    broker = services.broker_at(datetime(2026, 11, 25, 10, 0, tzinfo=ET))
    with pytest.raises(BrokerRejected, match="insufficient buying power") as refused:
        broker.submit_order("pm-gpt", OrderRequest(symbol="SPY", qty=5000, side=OrderSide.BUY,
                                                   client_order_id="too-big"))
    assert refused.value.status == 403
    assert broker.account("pm-gpt").buying_power == 200_000  # 2 x equity, nothing held


def test_a_short_in_a_hard_to_borrow_name_goes_flat_with_the_reason(
        services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    import dataclasses

    from llmtrade.adapters.broker.sim_broker import SimBroker

    real_broker_at = services.broker_at

    def broker_at(moment: datetime) -> SimBroker:
        inner = cast(SimBroker, real_broker_at(moment))
        return SimBroker(cast(SimMarket, services.market), inner._ledger,
                         starting_equity=100_000,
                         min_equity_for_short=2000, clock=lambda: moment,
                         hard_to_borrow=frozenset({"UUP"}))

    services = dataclasses.replace(services, broker_at=broker_at)
    _pitching(monkeypatch, {"instrument": "UUP", "conviction": -2})
    run_workflow(WEEKLY, {"week_id": WEEK}, services)
    snapshot = stored(services.store, WEEK, "pm-gpt", EventKind.POSITION_SNAPSHOT,
                      "week_open").parsed()
    assert snapshot.target_qty == 0 and "UUP is not easy to borrow" in snapshot.note
    assert not [e for e in services.store.list_week(WEEK, "pm-gpt")
                if e.kind is EventKind.ORDER]


def test_stale_open_orders_are_cancelled_before_the_week_trades(services: Services) -> None:
    from llmtrade.schemas import OrderRequest, OrderSide

    tuesday_evening = datetime(2026, 11, 24, 17, 0, tzinfo=ET)
    services.broker_at(tuesday_evening).submit_order(
        "pm-gpt", OrderRequest(symbol="GLD", qty=3, side=OrderSide.BUY,
                               client_order_id="left-over"))
    run_workflow(WEEKLY, {"week_id": WEEK}, services)
    broker = services.broker_at(datetime(2026, 11, 25, 10, 0, tzinfo=ET))
    left_over = broker.order_by_client_id("pm-gpt", "left-over")
    assert left_over is not None and left_over.status == "canceled"
    snapshot = stored(services.store, WEEK, "pm-gpt", EventKind.POSITION_SNAPSHOT,
                      "week_open").parsed()
    assert "cancelled stale order left-over" in snapshot.note


def test_a_flip_at_a_checkpoint_reverses_the_position_once(
        services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    # FLIP at the first checkpoint; after a flip, STAY
    _with_flip_indicator(monkeypatch, "QQQ", 2)
    run_workflow(WEEKLY, {"week_id": WEEK}, services)
    # close is placed and fills at once; the open follows it
    checkpoint(services, "2026-11-25 12:00")
    checkpoint(services, "2026-11-25 14:00")
    checkpoint(services, "2026-11-25 14:00")  # a rerun
    updates = services.events.week(WEEK, "pm-gpt").all(CheckpointUpdate)
    assert [u.action for u in updates] == [CheckpointAction.FLIP, CheckpointAction.STAY]
    moment = datetime(2026, 11, 25, 15, 0, tzinfo=ET)
    [held] = services.broker_at(moment).positions("pm-gpt")
    assert held.symbol == "QQQ" and held.qty < 0
    ids = [e.subject for e in services.store.list_week(WEEK, "pm-gpt")
           if e.kind is EventKind.ORDER]
    assert (ids.count("pm-gpt-2026-11-25-QQQ-open-cp11251200") == 1
            and len(ids) == len(set(ids)))
    first = broker_state(services, moment)
    checkpoint(services, "2026-11-25 12:00")  # rerunning the flip itself changes nothing either
    assert broker_state(services, moment) == first


def test_the_week_table_shows_the_state_now_not_as_frozen_at_the_run(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from llmtrade.entrypoints.cli import main

    data = str(tmp_path)
    assert main(["run-week", "--offline", "--week", WEEK, "--data-dir", data]) == 0
    assert "filled @" not in capsys.readouterr().out  # 08:00: queued, and said so
    assert main(["checkpoint", "--offline", "--at", "2026-11-30 12:00", "--data-dir", data]) == 0
    capsys.readouterr()
    assert main(["run-week", "--offline", "--week", WEEK, "--data-dir", data]) == 0
    out = capsys.readouterr().out
    assert ("filled @" in out and "last checkpoint Mon 12:00" in out
            and "New events stored: 0." in out)


def _with_flip_indicator(monkeypatch: pytest.MonkeyPatch, instrument: str,
                         conviction: int) -> None:
    _pitching(monkeypatch, {"instrument": instrument, "conviction": conviction,
                            "indicators": [always("flips", instrument)]})


def test_an_exit_before_the_open_also_replaces_last_weeks_pending_close(
        services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    _pitching(monkeypatch, {"instrument": "SPY", "conviction": 2})
    run_workflow(WEEKLY, {"week_id": "2026-11-18"}, services)
    _pitching(monkeypatch, {"instrument": "TLT", "conviction": 1,
                            "indicators": [always("invalidates", "TLT")]})
    run_workflow(WEEKLY, {"week_id": WEEK}, services)  # queues: close SPY, open TLT
    checkpoint(services, "2026-11-25 09:00")  # the invalidation fires: EXIT before the open
    update = services.events.get(CheckpointUpdate, WEEK, "pm-gpt", "2026-11-25T09:00:00-05:00")
    assert update is not None and update.action is CheckpointAction.EXIT
    held = broker_state(services, datetime(2026, 11, 25, 10, 0, tzinfo=ET))["pm-gpt"]
    assert held[0] == [] and held[1] == []  # flat: SPY closed once, never sold twice into a short


def test_a_flip_happens_once_however_long_its_condition_holds(
        services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    _with_flip_indicator(monkeypatch, "QQQ", 2)
    run_workflow(WEEKLY, {"week_id": WEEK}, services)
    for at in ("2026-11-25 12:00", "2026-11-25 14:00", "2026-11-25 15:50", "2026-11-28 09:00"):
        checkpoint(services, at)
    actions = [e.parsed().action.value for e in services.store.list_week(WEEK, "pm-gpt")
               if e.kind is EventKind.CHECKPOINT_UPDATE]
    assert actions.count("FLIP") == 1
    [held] = services.broker_at(datetime(2026, 11, 28, 9, 31, tzinfo=ET)).positions("pm-gpt")
    assert held.symbol == "QQQ" and held.qty < 0


def test_a_flip_into_a_hard_to_borrow_short_exits_instead(
        services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    import dataclasses

    from llmtrade.adapters.broker.sim_broker import SimBroker

    real_broker_at = services.broker_at

    def broker_at(moment: datetime) -> SimBroker:
        return SimBroker(cast(SimMarket, services.market),
                         cast(SimBroker, real_broker_at(moment))._ledger,
                         starting_equity=100_000, min_equity_for_short=2000,
                         clock=lambda: moment, hard_to_borrow=frozenset({"BNO"}))

    services = dataclasses.replace(services, broker_at=broker_at)
    _with_flip_indicator(monkeypatch, "BNO", 2)
    run_workflow(WEEKLY, {"week_id": WEEK}, services)
    checkpoint(services, "2026-11-25 12:00")
    update = stored(services.store, WEEK, "pm-gpt", EventKind.CHECKPOINT_UPDATE,
                    "2026-11-25T12:00:00-05:00").parsed()
    assert update.action.value == "EXIT" and update.conviction_after == 0
    assert "not easy to borrow" in update.reason_delta
    assert services.broker_at(datetime(2026, 11, 25, 12, 5, tzinfo=ET)).positions("pm-gpt") == []


def test_rerunning_an_older_checkpoint_never_brings_back_a_superseded_decision(
        services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    import dataclasses

    from llmtrade.run_keys import CheckpointRun
    from llmtrade.steps import checkpoint as step

    _pitching(monkeypatch, {"instrument": "SPY", "conviction": 2,
                            "indicators": [never("invalidates", "SPY")]})
    # the weekly order's fill
    opening = services.market.price("SPY", datetime(2026, 11, 25, 9, 30, tzinfo=ET))
    # the checkpoint's stop rule, not the broker's resting stop, is what this scenario exercises
    services = without_protective_stop(services)
    # down 2 % at noon (REDUCE: nothing confirms), down 10 % from 13:00 (stop loss: EXIT)
    services = scripted(
        services,
        Quote("SPY", opening * Decimal("0.98"), datetime(2026, 11, 25, 11, 0, tzinfo=ET),
              datetime(2026, 11, 25, 13, 0, tzinfo=ET)),
        Quote("SPY", opening * Decimal("0.90"), datetime(2026, 11, 25, 13, 0, tzinfo=ET)))
    run_workflow(WEEKLY, {"week_id": WEEK}, services)
    checkpoint(services, "2026-11-25 12:00")
    checkpoint(services, "2026-11-25 14:00")
    updates = services.events.week(WEEK, "pm-gpt").all(CheckpointUpdate)
    assert [(u.action, u.conviction_after) for u in updates] == [
        (CheckpointAction.REDUCE, 1), (CheckpointAction.EXIT, 0)]
    later = datetime(2026, 11, 25, 14, 30, tzinfo=ET)
    flat = broker_state(services, later)
    # a live broker is always "now": rerun the 12:00 checkpoint on the broker as it stands at 14:30
    live_like = dataclasses.replace(services, broker_at=lambda moment: services.broker_at(later))
    noon = datetime(2026, 11, 25, 12, 0, tzinfo=ET)
    result = step.checkpoint_account(live_like, CheckpointRun(week_id=WEEK, at=noon, accounts=[]),
                                     "pm-gpt")
    assert result["orders"] == [] and broker_state(services, later) == flat


def test_an_order_that_filled_before_its_cancel_is_not_an_error(services: Services) -> None:
    from llmtrade.mechanics.orders import cancel_if_open
    from llmtrade.ports import Broker, BrokerRejected

    class FilledMeanwhile:  # Alpaca: the order filled between the listing and the cancel
        def cancel_order(self, account_id: str, client_order_id: str) -> None:
            raise BrokerRejected(422, 42210000, 'order is already in "filled" state')

    class Down:
        def cancel_order(self, account_id: str, client_order_id: str) -> None:
            raise BrokerRejected(403, 40310000, "forbidden")

    assert cancel_if_open(cast(Broker, FilledMeanwhile()), "pm-gpt", "x") is False
    with pytest.raises(BrokerRejected):
        cancel_if_open(cast(Broker, Down()), "pm-gpt", "x")
