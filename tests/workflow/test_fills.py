"""Fills as Alpaca gives them and the protective stop, through the real workflow (offline): orders
answered `new` and filled later, in parts, or rejected later (the simulator's fill model), and a
resting stop at the broker between checkpoints. The simulator's clock is the only clock: a wait
inside a checkpoint advances it, nothing sleeps for real."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, cast

import pytest
from llmtrade.adapters.broker.sim_broker import FillModel, SimBroker
from llmtrade.domain.calendar import ET
from llmtrade.entrypoints.runner import run_workflow
from llmtrade.ports import Broker, OrderLedger
from llmtrade.schemas import (
    BrokerOrder,
    CheckpointAction,
    CheckpointUpdate,
    Indicator,
    OrderEvent,
    OrderFinal,
    Postmortem,
)
from llmtrade.services import Services
from llmtrade.steps.postmortem import settle_week
from llmtrade.workflow import CHECKPOINT, WEEKLY

from tests.conftest import WEEK
from tests.workflow.scripted import Quote, ScriptedMarket

FLIP_WEEK = "2026-12-02"  # its Friday is a full session: the 15:50 checkpoint runs
WED_OPEN = datetime(2026, 12, 2, 9, 30, tzinfo=ET)
FRI_1550 = datetime(2026, 12, 4, 15, 50, tzinfo=ET)
SECOND = timedelta(seconds=1)
ACCOUNT = "pm-gpt"
FLIP = "pm-gpt-2026-12-02-SPY-{leg}-cp12041550"


class Simulated:
    """Services whose simulated broker fills by `fills` over a scripted market, and a record of
    every wait a step asked for (none of them real)."""

    def __init__(self, services: Services, fills: FillModel, *quotes: Quote) -> None:
        self.market = ScriptedMarket(services.settings.assets, list(quotes))
        self.ledger: OrderLedger = cast(SimBroker, services.broker_at(WED_OPEN))._ledger
        self.waits: list[float] = []
        risk = services.settings.risk
        self.fills = fills

        def broker_at(moment: datetime) -> Broker:
            return SimBroker(self.market, self.ledger, starting_equity=risk.starting_equity_usd,
                             min_equity_for_short=risk.min_equity_for_short_usd,
                             clock=lambda: moment, fills=self.fills)

        self.services = dataclasses.replace(services, market=self.market, broker_at=broker_at,
                                            sleep=self.waits.append)

    def broker(self, moment: datetime) -> Broker:
        return self.services.broker_at(moment)

    def order(self, client_id: str, moment: datetime) -> BrokerOrder | None:
        return self.broker(moment).order_by_client_id(ACCOUNT, client_id)

    def held(self, moment: datetime) -> int:
        return sum(p.qty for p in self.broker(moment).positions(ACCOUNT) if p.symbol == "SPY")

    def checkpoint(self, at: datetime) -> dict[str, Any]:
        return run_workflow(CHECKPOINT, {"at": at.isoformat()}, self.services)


def pitching(monkeypatch: pytest.MonkeyPatch, indicator: Indicator) -> None:
    """Every PM pitches long SPY at conviction 2 with that one frozen indicator."""
    from llmtrade.mechanics.model_calls import ask as real_ask
    from llmtrade.schemas import Direction
    from llmtrade.steps import council

    def ask(services_: Services, **kwargs: Any) -> tuple[Any, str]:
        answer, by = real_ask(services_, **kwargs)
        if kwargs["purpose"] == "pitch":
            answer = answer.model_copy(update={"instrument": "SPY", "conviction": 2,
                                               "direction": Direction.LONG,
                                               "indicators": [indicator]})
        return answer, by

    monkeypatch.setattr(council, "ask", ask)


def price_rule(role: str, comparison: str, threshold: Decimal) -> Indicator:
    return Indicator.model_validate({"name": f"SPY {comparison} {threshold}", "measure": "price",
                                     "instrument": "SPY", "comparison": comparison,
                                     "threshold": float(threshold), "role": role})


def flipping_friday(services: Services, monkeypatch: pytest.MonkeyPatch,
                    fills: FillModel) -> Simulated:
    """The PMs' long SPY flips short at Friday 15:50: SPY trades 2 % over the flip level then."""
    mark = services.market.price("SPY", datetime(2026, 12, 2, 8, 0, tzinfo=ET))
    pitching(monkeypatch, price_rule("flips", ">", mark * Decimal("1.3")))
    sim = Simulated(services, fills, Quote("SPY", mark * Decimal("1.32"), FRI_1550 - SECOND))
    run_workflow(WEEKLY, {"week_id": FLIP_WEEK}, sim.services)
    return sim


def test_a_friday_flip_opens_the_new_side_within_its_checkpoint_when_fills_come_later(
        services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    sim = flipping_friday(services, monkeypatch, FillModel(latency=5 * SECOND))
    long = sim.held(FRI_1550 - SECOND)
    assert long > 0
    result = sim.checkpoint(FRI_1550)
    gpt = next(r for r in result["results"]["checkpoints"] if r["account_id"] == ACCOUNT)
    assert gpt["orders"] == [FLIP.format(leg="close"), FLIP.format(leg="open")]
    closing, opening = (sim.order(FLIP.format(leg=leg), FRI_1550 + 60 * SECOND)
                        for leg in ("close", "open"))
    assert closing and opening and closing.status == opening.status == "filled"
    # the opening leg went in once the close had filled, within the bounded wait
    assert closing.filled_at and closing.filled_at <= opening.submitted_at
    assert opening.submitted_at < FRI_1550 + 30 * SECOND
    assert sim.held(FRI_1550 + 60 * SECOND) < 0  # short over the weekend, not flat
    # the accounts waited in simulated time (polls of fill_poll_seconds), never for real
    assert sim.waits and set(sim.waits) == {services.settings.risk.orders.fill_poll_seconds}
    # the short is protected by a buy stop 3 % above its entry, resting over the weekend
    [stop] = sim.broker(datetime(2026, 12, 7, 9, 0, tzinfo=ET)).open_orders(ACCOUNT)
    assert (stop.type, stop.side, stop.qty) == ("stop", "buy", -sim.held(FRI_1550 + 60 * SECOND))
    assert opening.filled_avg_price is not None
    assert stop.stop_price == (opening.filled_avg_price * Decimal("1.03")).quantize(Decimal("0.01"))
    # a rerun places nothing twice
    ledger = sim.ledger.orders(ACCOUNT)
    sim.checkpoint(FRI_1550)
    assert sim.ledger.orders(ACCOUNT) == ledger


def test_a_close_filling_in_parts_past_the_wait_leaves_the_opening_leg_to_the_next_checkpoint(
        services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    # half the close 20 s after it is placed, the rest 20 s later: past the 30 s wait
    sim = flipping_friday(services, monkeypatch, FillModel(latency=20 * SECOND, partial=0.5))
    sim.checkpoint(FRI_1550)
    week = sim.services.events.week(FLIP_WEEK, ACCOUNT)
    closing = week.get(OrderEvent, ACCOUNT, FLIP.format(leg="close"))
    assert closing is not None and closing.broker_order is not None
    assert closing.broker_order.status == "new"  # what the broker said: not filled yet
    assert week.get(OrderEvent, ACCOUNT, FLIP.format(leg="open")) is None
    assert sim.order(FLIP.format(leg="open"), FRI_1550 + 60 * SECOND) is None
    assert sim.held(FRI_1550 + 60 * SECOND) == 0  # the close completed after the checkpoint
    # Monday 09:00 places the Friday decision's opening leg, under its own id, once
    monday = datetime(2026, 12, 7, 9, 0, tzinfo=ET)
    sim.checkpoint(monday)
    opening = sim.order(FLIP.format(leg="open"), monday + timedelta(hours=1))
    assert opening is not None and opening.status == "filled" and opening.submitted_at == monday
    assert sim.held(monday + timedelta(hours=1)) < 0
    # while that leg was open its attached stop was held, resting nowhere; the next checkpoint
    # replaces it with the stop from the short's entry
    assert [o.status for o in sim.broker(monday).open_orders(ACCOUNT) if o.type == "stop"] == [
        "held"]
    noon = datetime(2026, 12, 7, 12, 0, tzinfo=ET)
    sim.checkpoint(noon)
    assert [o.type for o in sim.broker(noon + SECOND).open_orders(ACCOUNT)] == ["stop"]


def test_an_opening_leg_rejected_later_goes_in_again_at_the_next_checkpoint(
        services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    rejected_id = FLIP.format(leg="open")
    fills = FillModel(latency=5 * SECOND, rejects=lambda o: o.client_order_id == rejected_id)
    sim = flipping_friday(services, monkeypatch, fills)
    sim.checkpoint(FRI_1550)
    rejected = sim.order(rejected_id, FRI_1550 + 60 * SECOND)
    assert rejected is not None and rejected.status == "rejected"
    assert sim.held(FRI_1550 + 60 * SECOND) == 0
    monday = datetime(2026, 12, 7, 9, 0, tzinfo=ET)
    sim.checkpoint(monday)
    retry = "pm-gpt-2026-12-02-SPY-open-cp12070900"
    week = sim.services.events.week(FLIP_WEEK, ACCOUNT)
    final = week.get(OrderFinal, ACCOUNT, rejected_id)
    assert final is not None and final.broker_order.status == "rejected"  # how it ended
    assert week.get(OrderEvent, ACCOUNT, retry) is not None
    assert sim.held(monday + timedelta(hours=1)) < 0
    ledger = sim.ledger.orders(ACCOUNT)
    sim.checkpoint(monday)
    assert sim.ledger.orders(ACCOUNT) == ledger


def test_a_gap_through_the_resting_stop_fills_at_the_open_is_recorded_as_an_exit(
        services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    """The stop fills overnight: the next checkpoint records the EXIT at conviction 0 (not a STAY
    at the old conviction), nothing is bought back, later checkpoints STAY flat, and the week's
    postmortem ends at conviction 0."""
    pitching(monkeypatch, price_rule("invalidates", "<", Decimal(0)))
    wednesday_close = services.market.price("SPY", datetime(2026, 11, 25, 16, 0, tzinfo=ET))
    friday_open = datetime(2026, 11, 27, 9, 30, tzinfo=ET)
    sim = Simulated(services, FillModel(),
                    Quote("SPY", wednesday_close * Decimal("0.9"), friday_open))
    run_workflow(WEEKLY, {"week_id": WEEK}, sim.services)
    noon = datetime(2026, 11, 25, 12, 0, tzinfo=ET)
    sim.checkpoint(noon)
    [stop] = sim.broker(noon + SECOND).open_orders(ACCOUNT)
    entry = sim.broker(noon).positions(ACCOUNT)[0].avg_entry_price
    assert stop.stop_price == (entry * Decimal("0.97")).quantize(Decimal("0.01"))
    filled = sim.order(stop.client_order_id, friday_open + timedelta(hours=1))
    assert filled is not None and filled.status == "filled" and filled.filled_at == friday_open
    # the open's bid, far below the stop level: a gap overshoots the stop, as at a broker
    assert filled.filled_avg_price == sim.market.quote("SPY", friday_open)[0] < stop.stop_price
    friday_noon = datetime(2026, 11, 27, 12, 0, tzinfo=ET)
    sim.checkpoint(friday_noon)
    assert sim.held(friday_noon + timedelta(minutes=30)) == 0
    stop_final = sim.services.events.week(WEEK, ACCOUNT).get(OrderFinal, ACCOUNT,
                                                              stop.client_order_id)
    assert stop_final is not None and stop_final.broker_order.status == "filled"
    monday_noon = datetime(2026, 11, 30, 12, 0, tzinfo=ET)
    sim.checkpoint(monday_noon)
    assert sim.held(monday_noon + timedelta(minutes=30)) == 0
    assert sim.broker(monday_noon + SECOND).open_orders(ACCOUNT) == []
    updates = sim.services.events.week(WEEK, ACCOUNT).all(CheckpointUpdate)
    assert [(u.at, u.action, u.conviction_before, u.conviction_after) for u in updates] == [
        (noon, CheckpointAction.STAY, 2, 2), (friday_noon, CheckpointAction.EXIT, 2, 0),
        (monday_noon, CheckpointAction.STAY, 0, 0)]
    assert updates[1].reason_delta == f"stopped out at the broker at {filled.filled_avg_price}"
    settle_week(sim.services, WEEK, datetime(2026, 12, 2, 8, 0, tzinfo=ET))
    outcome = sim.services.events.get(Postmortem, WEEK, ACCOUNT)
    assert outcome is not None and (outcome.conviction, outcome.final_conviction) == (2, 0)


def test_an_exit_cancels_the_stop_before_it_sells(services: Services,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    opening = services.market.price("SPY", datetime(2026, 11, 25, 9, 30, tzinfo=ET))
    pitching(monkeypatch, price_rule("invalidates", "<", opening * Decimal("0.99")))
    sim = Simulated(services, FillModel(),
                    Quote("SPY", opening * Decimal("0.985"),
                          datetime(2026, 11, 25, 13, 30, tzinfo=ET)))
    run_workflow(WEEKLY, {"week_id": WEEK}, sim.services)
    noon, two = (datetime(2026, 11, 25, h, 0, tzinfo=ET) for h in (12, 14))
    sim.checkpoint(noon)
    [stop] = sim.broker(noon + SECOND).open_orders(ACCOUNT)
    sim.checkpoint(two)
    cancelled = sim.order(stop.client_order_id, two + SECOND)
    assert cancelled is not None and cancelled.status == "canceled"
    week = sim.services.events.week(WEEK, ACCOUNT)
    sold = [e.payload for e in week.entries(OrderEvent) if e.subject.endswith("-cp11251400")]
    # the sell was not refused for shares held by the stop: the stop was cancelled first
    assert [(o.leg, o.rejected, o.broker_order and o.broker_order.status) for o in sold] == [
        ("close", None, "filled")]
    assert sim.held(two + SECOND) == 0 and sim.broker(two + SECOND).open_orders(ACCOUNT) == []


def test_a_stay_keeps_the_stop_and_a_reduce_replaces_it_for_the_new_quantity(
        services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    opening = services.market.price("SPY", datetime(2026, 11, 25, 9, 30, tzinfo=ET))
    pitching(monkeypatch, price_rule("invalidates", "<", Decimal(0)))
    # 2 % down from 13:00: past the reduce level, short of the stop
    sim = Simulated(services, FillModel(), Quote("SPY", opening * Decimal("0.98"),
                                                 datetime(2026, 11, 25, 13, 0, tzinfo=ET)))
    run_workflow(WEEKLY, {"week_id": WEEK}, sim.services)
    noon, two, close = (datetime(2026, 11, 25, h, m, tzinfo=ET)
                        for h, m in ((12, 0), (14, 0), (15, 50)))
    sim.checkpoint(noon)
    [first] = sim.broker(noon + SECOND).open_orders(ACCOUNT)
    sim.checkpoint(two)
    cancelled = sim.order(first.client_order_id, two + SECOND)
    assert cancelled is not None and cancelled.status == "canceled"
    [second] = sim.broker(two + SECOND).open_orders(ACCOUNT)
    held = sim.held(two + SECOND)
    assert 0 < held < first.qty and second.qty == held
    assert second.stop_price == first.stop_price  # the same entry: the same level
    sim.checkpoint(close)
    updates = sim.services.events.week(WEEK, ACCOUNT).all(CheckpointUpdate)
    actions = [u.action.value for u in updates]
    assert actions == ["STAY", "REDUCE", "STAY"]
    assert [o.client_order_id for o in sim.broker(close + SECOND).open_orders(ACCOUNT)] == [
        second.client_order_id]


def test_wednesdays_entry_is_stopped_out_before_the_first_checkpoint_by_its_attached_stop(
        services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    pitching(monkeypatch, price_rule("invalidates", "<", Decimal(0)))
    expected = services.market.price("SPY", datetime(2026, 11, 25, 8, 0, tzinfo=ET))
    drop = datetime(2026, 11, 25, 10, 30, tzinfo=ET)
    sim = Simulated(services, FillModel(), Quote("SPY", expected * Decimal("0.9"), drop))
    run_workflow(WEEKLY, {"week_id": WEEK}, sim.services)
    entry_id = f"{ACCOUNT}-{WEEK}-SPY-open"
    entry = sim.services.events.week(WEEK, ACCOUNT).get(OrderEvent, ACCOUNT, entry_id)
    level = (expected * Decimal("0.97")).quantize(Decimal("0.01"))
    assert entry is not None and entry.request.stop_loss == level
    assert entry.broker_order is not None
    [leg] = entry.broker_order.legs  # the stop as the broker named it, held for the entry
    assert (leg.type, leg.side, leg.stop_price, leg.status) == ("stop", "sell", level, "held")
    # no checkpoint yet: the broker's stop sells at the drop
    stopped = sim.order(leg.client_order_id, drop + timedelta(minutes=5))
    assert stopped is not None and stopped.status == "filled" and stopped.filled_at == drop
    assert stopped.filled_avg_price == sim.market.quote("SPY", drop)[0]
    assert sim.held(drop + SECOND) == 0
    # the 12:00 checkpoint sees the weekly decision stopped out: nothing is bought back
    noon = datetime(2026, 11, 25, 12, 0, tzinfo=ET)
    sim.checkpoint(noon)
    assert sim.held(noon + timedelta(minutes=30)) == 0
    assert sim.broker(noon + timedelta(minutes=30)).open_orders(ACCOUNT) == []
    ledger = sim.ledger.orders(ACCOUNT)
    sim.checkpoint(noon)
    assert sim.ledger.orders(ACCOUNT) == ledger


def test_without_the_protective_stop_an_entry_goes_in_alone(
        services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.workflow.test_trading import without_protective_stop

    pitching(monkeypatch, price_rule("invalidates", "<", Decimal(0)))
    sim = Simulated(without_protective_stop(services), FillModel())
    run_workflow(WEEKLY, {"week_id": WEEK}, sim.services)
    entry = sim.services.events.week(WEEK, ACCOUNT).get(OrderEvent, ACCOUNT,
                                                        f"{ACCOUNT}-{WEEK}-SPY-open")
    assert entry is not None and entry.broker_order is not None
    assert (entry.request.stop_loss, entry.request.time_in_force) == (None, "day")
    assert entry.broker_order.legs == []
