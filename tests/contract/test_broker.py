"""The Broker contract with Alpaca's semantics (API_NOTES), run by the simulated broker and by the
Alpaca client over a fake Alpaca server (tests/adapters/fake_alpaca.py: respx, shapes from the
official spec): fills as Alpaca gives them (`new` first, in parts, rejected later) and protective
stop orders included."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import respx
from llmtrade.adapters.broker.alpaca import AlpacaBroker
from llmtrade.adapters.broker.ledger_sqlite import SqliteOrderLedger
from llmtrade.adapters.broker.sim_broker import IMMEDIATE, FillModel, SimBroker
from llmtrade.adapters.broker.sim_market import SimMarket
from llmtrade.config import Settings
from llmtrade.domain.calendar import ET
from llmtrade.ports import Broker, BrokerRejected
from llmtrade.schemas import BrokerOrder, OrderRequest, OrderSide

from tests.adapters.fake_alpaca import PAPER_URL, FakeAlpaca
from tests.workflow.scripted import Quote, ScriptedMarket

WED_0800 = datetime(2026, 11, 25, 8, 0, tzinfo=ET)
WED_OPEN = datetime(2026, 11, 25, 9, 30, tzinfo=ET)
WED_1200 = datetime(2026, 11, 25, 12, 0, tzinfo=ET)
FRI_OPEN = datetime(2026, 11, 27, 9, 30, tzinfo=ET)
SECONDS = timedelta(seconds=1)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(WED_0800)


@pytest.fixture
def market(settings: Settings) -> ScriptedMarket:
    """The simulated market; a test may script a symbol's price from a moment on."""
    return ScriptedMarket(settings.assets, [])


@pytest.fixture
def fills() -> FillModel:
    return IMMEDIATE


ALPACA_KEYS = {account: (f"PK-{account}", f"secret-{account}") for account in ("acct", "a", "b")}


@pytest.fixture(params=["sim", "alpaca"])
def broker(request: pytest.FixtureRequest, market: SimMarket, clock: Clock, fills: FillModel,
           tmp_path: Path) -> Iterator[Broker]:
    sim = SimBroker(market, SqliteOrderLedger(tmp_path / "ledger.sqlite"),
                    starting_equity=100_000, min_equity_for_short=2000, clock=clock, fills=fills)
    if request.param == "sim":
        yield sim
        return
    # the Alpaca client over a fake Alpaca server (respx) that runs the same simulated broker
    with respx.mock(assert_all_called=False) as router:
        FakeAlpaca(sim, market, ALPACA_KEYS, clock).install(router)
        yield AlpacaBroker(PAPER_URL, ALPACA_KEYS, sleep=lambda _: None)


def order(qty: int, side: str = "buy", cid: str = "c1", symbol: str = "SPY") -> OrderRequest:
    return OrderRequest(symbol=symbol, qty=qty, side=side, client_order_id=cid)


def test_an_order_while_closed_is_accepted_then_fills_at_the_next_open(
        broker: Broker, clock: Clock, market: SimMarket) -> None:
    placed = broker.submit_order("acct", order(10))
    assert placed.status == "accepted" and placed.filled_at is None
    assert broker.positions("acct") == [] and broker.account("acct").cash == Decimal("100000.00")
    clock.now = WED_1200
    filled = broker.order_by_client_id("acct", "c1")
    assert filled is not None
    assert filled.status == "filled" and filled.filled_at == WED_OPEN
    assert filled.filled_avg_price == market.quote("SPY", WED_OPEN)[1]  # a buy fills at the ask
    [held] = broker.positions("acct")
    assert held.qty == 10 and held.avg_entry_price == filled.filled_avg_price
    assert held.unrealized_pl == (market.price("SPY", WED_1200) - filled.filled_avg_price) * 10
    state = broker.account("acct")
    assert state.cash == Decimal("100000") - 10 * filled.filled_avg_price
    assert state.equity == state.cash + held.market_value


def test_an_order_while_open_fills_at_once(broker: Broker, clock: Clock) -> None:
    clock.now = WED_1200
    assert broker.submit_order("acct", order(3)).status == "filled"


def test_client_order_ids_are_unique_forever(broker: Broker, clock: Clock) -> None:
    broker.submit_order("acct", order(1))
    clock.now = WED_1200
    with pytest.raises(BrokerRejected) as rejected:
        broker.submit_order("acct", order(1))
    assert rejected.value.status == 422 and "client_order_id" in rejected.value.message


def test_selling_through_zero_in_one_order_is_refused(broker: Broker, clock: Clock) -> None:
    clock.now = WED_1200
    broker.submit_order("acct", order(5))
    with pytest.raises(BrokerRejected, match="insufficient qty"):
        broker.submit_order("acct", order(8, "sell", "c2"))
    broker.submit_order("acct", order(5, "sell", "c3"))
    assert broker.positions("acct") == []
    broker.submit_order("acct", order(4, "sell", "c4"))  # now a short opens
    assert broker.positions("acct")[0].qty == -4


def test_an_order_against_an_open_order_on_the_other_side_is_a_wash_trade(broker: Broker) -> None:
    broker.submit_order("acct", order(5))
    with pytest.raises(BrokerRejected) as rejected:
        broker.submit_order("acct", order(5, "sell", "c2"))
    assert rejected.value.status == 403


def test_unknown_symbols_are_refused(broker: Broker) -> None:
    with pytest.raises(BrokerRejected, match='asset "TSLA" not found'):
        broker.submit_order("acct", order(1, symbol="TSLA"))


def test_a_cancelled_order_never_fills(broker: Broker, clock: Clock) -> None:
    broker.submit_order("acct", order(5))
    broker.cancel_order("acct", "c1")
    clock.now = WED_1200
    cancelled = broker.order_by_client_id("acct", "c1")
    assert cancelled is not None and cancelled.status == "canceled"
    assert broker.positions("acct") == [] and broker.open_orders("acct") == []
    with pytest.raises(BrokerRejected):
        broker.cancel_order("acct", "c1")


def test_accounts_are_separate(broker: Broker, clock: Clock) -> None:
    clock.now = WED_1200
    broker.submit_order("a", order(5))
    assert broker.positions("b") == [] and broker.order_by_client_id("b", "c1") is None


def test_the_simulated_market_is_deterministic_and_follows_the_calendar(
        market: SimMarket, settings: Settings) -> None:
    again = SimMarket(settings.assets)
    assert market.price("GLD", WED_1200) == again.price("GLD", WED_1200)
    thursday = datetime(2026, 11, 26, 12, 0, tzinfo=ET)  # Thanksgiving: the last close stands
    assert market.price("SPY", thursday) == market.price("SPY",
                                                         datetime(2026, 11, 25, 16, 0, tzinfo=ET))
    assert market.next_open(thursday) == datetime(2026, 11, 27, 9, 30, tzinfo=ET)
    assert len({market.price(s, WED_1200) for s in market.symbols}) == len(market.symbols)


def test_the_simulation_refuses_to_go_back_in_time(broker: Broker, clock: Clock) -> None:
    clock.now = WED_1200
    broker.submit_order("acct", order(5))
    clock.now = WED_0800
    with pytest.raises(RuntimeError, match="cannot go back in time"):
        broker.submit_order("acct", order(1, cid="c2"))


# --------------------------------------------------------------------------- fills as Alpaca gives
LATE = FillModel(latency=5 * SECONDS)
IN_PARTS = FillModel(latency=5 * SECONDS, partial=0.5)
REJECTED_LATER = FillModel(latency=5 * SECONDS, rejects=lambda o: o.client_order_id == "c1")


def at(broker: Broker, clock: Clock, moment: datetime, cid: str = "c1") -> BrokerOrder:
    clock.now = moment
    found = broker.order_by_client_id("acct", cid)
    assert found is not None
    return found


@pytest.mark.parametrize("fills", [LATE])
def test_a_market_order_is_new_first_and_fills_later(broker: Broker, clock: Clock,
                                                     market: SimMarket) -> None:
    clock.now = WED_1200
    placed = broker.submit_order("acct", order(10))
    assert placed.status == "new" and placed.filled_qty == 0
    assert [o.client_order_id for o in broker.open_orders("acct")] == ["c1"]
    assert broker.positions("acct") == []
    assert at(broker, clock, WED_1200 + 4 * SECONDS).status == "new"
    filled = at(broker, clock, WED_1200 + 5 * SECONDS)
    assert filled.status == "filled" and filled.filled_at == WED_1200 + 5 * SECONDS
    assert filled.filled_avg_price == market.quote("SPY", WED_1200 + 5 * SECONDS)[1]
    assert broker.positions("acct")[0].qty == 10 and broker.open_orders("acct") == []


@pytest.mark.parametrize("fills", [IN_PARTS])
def test_an_order_fills_in_parts_and_a_cancel_keeps_the_part_filled(broker: Broker,
                                                                     clock: Clock) -> None:
    clock.now = WED_1200
    broker.submit_order("acct", order(9))
    part = at(broker, clock, WED_1200 + 5 * SECONDS)
    assert (part.status, part.filled_qty) == ("partially_filled", 4)
    assert broker.positions("acct")[0].qty == 4 and broker.open_orders("acct") != []
    whole = at(broker, clock, WED_1200 + 10 * SECONDS)
    assert (whole.status, whole.filled_qty) == ("filled", 9)
    # another order, cancelled between its parts: the part filled stays held
    clock.now = WED_1200 + 20 * SECONDS
    broker.submit_order("acct", order(9, cid="c2"))
    clock.now = WED_1200 + 26 * SECONDS
    broker.cancel_order("acct", "c2")
    cancelled = at(broker, clock, WED_1200 + 60 * SECONDS, "c2")
    assert (cancelled.status, cancelled.filled_qty) == ("canceled", 4)
    assert broker.positions("acct")[0].qty == 13


@pytest.mark.parametrize("fills", [REJECTED_LATER])
def test_an_order_can_be_rejected_after_it_was_accepted(broker: Broker, clock: Clock) -> None:
    clock.now = WED_1200
    assert broker.submit_order("acct", order(10)).status == "new"
    rejected = at(broker, clock, WED_1200 + 5 * SECONDS)
    assert rejected.status == "rejected" and rejected.filled_qty == 0
    assert broker.positions("acct") == [] and broker.open_orders("acct") == []
    assert broker.submit_order("acct", order(10, cid="c2")).status == "new"


# --------------------------------------------------------------------------- protective stops
def stop(qty: int, stop_price: Decimal, side: OrderSide = OrderSide.SELL,
         cid: str = "s1") -> OrderRequest:
    return OrderRequest.stop("SPY", qty, side, stop_price, cid)


def test_shares_held_for_a_resting_stop_cannot_be_sold_until_it_is_cancelled(
        broker: Broker, clock: Clock, market: SimMarket) -> None:
    clock.now = WED_1200
    broker.submit_order("acct", order(10))
    level = (market.price("SPY", WED_1200) * Decimal("0.97")).quantize(Decimal("0.01"))
    resting = broker.submit_order("acct", stop(10, level))
    assert (resting.status, resting.type, resting.stop_price) == ("new", "stop", level)
    assert broker.account("acct").buying_power > 0  # a stop reserves no buying power
    with pytest.raises(BrokerRejected, match="insufficient qty available") as refused:
        broker.submit_order("acct", order(10, "sell", "c2"))
    assert refused.value.status == 403
    broker.cancel_order("acct", "s1")
    assert broker.submit_order("acct", order(10, "sell", "c3")).status == "filled"
    assert broker.positions("acct") == []


def test_a_gap_through_a_resting_stop_fills_at_the_open(broker: Broker, clock: Clock,
                                                        market: ScriptedMarket) -> None:
    wednesday_close = market.price("SPY", datetime(2026, 11, 25, 16, 0, tzinfo=ET))
    gapped = (wednesday_close * Decimal("0.9")).quantize(Decimal("0.01"))
    market.quotes.append(Quote("SPY", gapped, FRI_OPEN))  # Friday opens 10 % down
    clock.now = WED_1200
    broker.submit_order("acct", order(10))
    level = (wednesday_close * Decimal("0.97")).quantize(Decimal("0.01"))
    clock.now = datetime(2026, 11, 25, 16, 30, tzinfo=ET)
    assert broker.submit_order("acct", stop(10, level)).status == "accepted"  # after the close
    assert at(broker, clock, datetime(2026, 11, 27, 9, 0, tzinfo=ET), "s1").is_open
    filled = at(broker, clock, datetime(2026, 11, 27, 12, 0, tzinfo=ET), "s1")
    assert filled.status == "filled" and filled.filled_at == FRI_OPEN
    # at the open's bid, far through the stop level: a gap is not a fill at the stop
    assert filled.filled_avg_price == market.quote("SPY", FRI_OPEN)[0] < level
    assert broker.positions("acct") == [] and broker.open_orders("acct") == []


def test_a_stop_triggers_where_the_path_crosses_it_and_a_buy_stop_covers_a_short(
        broker: Broker, clock: Clock, market: ScriptedMarket) -> None:
    clock.now = WED_1200
    noon = market.price("SPY", WED_1200)
    crossing = WED_1200 + timedelta(minutes=17)
    market.quotes.append(Quote("SPY", noon * Decimal("1.05"), crossing))
    broker.submit_order("acct", order(5, "sell"))
    broker.submit_order("acct", stop(5, noon * Decimal("1.03"), OrderSide.BUY))
    assert at(broker, clock, crossing - SECONDS, "s1").status == "new"
    filled = at(broker, clock, crossing + timedelta(minutes=30), "s1")
    assert filled.filled_at == crossing and filled.filled_avg_price == market.quote(
        "SPY", crossing)[1]
    assert broker.positions("acct") == []


# --------------------------------------------------------------------------- an entry's stop (oto)
def entry_with_stop(qty: int, stop_loss: Decimal, cid: str = "c1") -> OrderRequest:
    return OrderRequest(symbol="SPY", qty=qty, side=OrderSide.BUY, time_in_force="gtc",
                        stop_loss=stop_loss, client_order_id=cid)


def test_an_entrys_attached_stop_is_held_until_it_fills_then_rests_and_fills_on_a_drop(
        broker: Broker, clock: Clock, market: ScriptedMarket) -> None:
    level = (market.price("SPY", WED_0800) * Decimal("0.97")).quantize(Decimal("0.01"))
    market.quotes.append(Quote("SPY", level - 1, datetime(2026, 11, 25, 11, 0, tzinfo=ET)))
    placed = broker.submit_order("acct", entry_with_stop(10, level))
    [leg] = placed.legs
    assert (placed.status, leg.status, leg.type, leg.side, leg.qty, leg.stop_price) == (
        "accepted", "held", "stop", OrderSide.SELL, 10, level)
    # the held leg is no wash trade and holds nothing: another buy goes in beside it
    assert broker.submit_order("acct", order(1, cid="c2")).status == "accepted"
    clock.now = WED_OPEN + SECONDS
    resting = broker.order_by_client_id("acct", leg.client_order_id)
    assert resting is not None and (resting.status, resting.filled_qty) == ("new", 0)
    assert sum(p.qty for p in broker.positions("acct")) == 11
    stopped = at(broker, clock, WED_1200, leg.client_order_id)
    assert (stopped.status, stopped.filled_qty) == ("filled", 10)
    assert stopped.filled_at == datetime(2026, 11, 25, 11, 0, tzinfo=ET)
    assert [p.qty for p in broker.positions("acct")] == [1]
    [parent_leg] = at(broker, clock, WED_1200).legs
    assert parent_leg.status == "filled"  # the entry reads its leg back


def test_an_entry_cancelled_before_it_fills_takes_its_attached_stop_with_it(
        broker: Broker, clock: Clock, market: ScriptedMarket) -> None:
    level = (market.price("SPY", WED_0800) * Decimal("0.97")).quantize(Decimal("0.01"))
    [leg] = broker.submit_order("acct", entry_with_stop(10, level)).legs
    broker.cancel_order("acct", "c1")
    cancelled = at(broker, clock, WED_1200, leg.client_order_id)
    assert cancelled.status == "canceled" and broker.open_orders("acct") == []
    assert broker.positions("acct") == []


# --------------------------------------------------------------------------- the simulator only
def test_the_simulator_refuses_a_client_order_id_that_would_take_a_cancels_key(
        market: ScriptedMarket, clock: Clock, tmp_path: Path) -> None:
    # its ledger keeps the cancel of X under `cancel:X`: an order holding that key would make the
    # cancel of X impossible to record, and X would go on to fill
    sim = SimBroker(market, SqliteOrderLedger(tmp_path / "ledger.sqlite"),
                    starting_equity=100_000, min_equity_for_short=2000, clock=clock)
    sim.submit_order("acct", order(5))
    with pytest.raises(BrokerRejected) as rejected:
        sim.submit_order("acct", order(1, cid="cancel:c1"))
    assert (rejected.value.status, rejected.value.code) == (422, 40010001)
    sim.cancel_order("acct", "c1")
    clock.now = WED_1200
    cancelled = sim.order_by_client_id("acct", "c1")
    assert cancelled is not None and cancelled.status == "canceled"
    assert sim.positions("acct") == [] and sim.order_by_client_id("acct", "cancel:c1") is None
