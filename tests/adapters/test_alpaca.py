"""AlpacaBroker and AlpacaMarketData against respx routes in the shapes of Alpaca's OpenAPI specs;
the answers are the spec's own examples (alpaca_examples.py)."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
import respx
from llmtrade.adapters.broker.alpaca import AlpacaBroker, AlpacaError, AlpacaMarketData
from llmtrade.adapters.broker.ledger_sqlite import SqliteOrderLedger
from llmtrade.adapters.broker.sim_broker import SimBroker
from llmtrade.adapters.broker.sim_market import SimMarket
from llmtrade.config import Settings
from llmtrade.domain.calendar import ET
from llmtrade.ports import BrokerRejected
from llmtrade.schemas import OrderRequest, OrderSide

from tests.adapters.alpaca_examples import (
    ACCOUNT,
    ASSET,
    CLOCK,
    LONG_POSITION,
    NOVEMBER_2026,
    ORDER,
    PARTIAL,
    REJECTIONS,
    SHORT_POSITION,
    bar,
    numbers,
    trade,
)
from tests.adapters.fake_alpaca import FakeAlpaca, order_json, position_json

SPECS = Path(__file__).resolve().parents[2].parent / "shared" / "specs"
PAPER = "https://paper-api.alpaca.markets"
DATA = "https://data.alpaca.markets"
KEYS = {"pm-gpt": ("PKGPTKEY", "gpt-secret-value"),
        "council": ("PKCOUNCIL", "council-secret-value")}
KEY_ENVS = {"pm-gpt": "ALPACA_PM_GPT", "council": "ALPACA_COUNCIL"}

class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def broker(sleeps: Sleeps) -> AlpacaBroker:
    return AlpacaBroker(PAPER, KEYS, key_envs=KEY_ENVS, timeout=1.0, max_attempts=3, sleep=sleeps,
                        wall_clock=lambda: 1_700_000_000.0)


def spy_order(qty: int = 10, cid: str = "2026-11-25/pm-gpt/SPY/open") -> OrderRequest:
    return OrderRequest(symbol="SPY", qty=qty, side=OrderSide.BUY, client_order_id=cid)


# --------------------------------------------------------------------------- reads
@respx.mock
def test_account_uses_the_accounts_own_keys_and_parses_decimals(broker: AlpacaBroker) -> None:
    route = respx.get(f"{PAPER}/v2/account").respond(json=ACCOUNT)
    state = broker.account("pm-gpt")
    assert (state.equity, state.cash, state.buying_power) == (
        Decimal("123346.11"), Decimal("122086.5"), Decimal("245432.61"))
    sent = route.calls.last.request.headers
    assert (sent["APCA-API-KEY-ID"] == "PKGPTKEY"
            and sent["APCA-API-SECRET-KEY"] == "gpt-secret-value")
    broker.account("council")
    assert route.calls.last.request.headers["APCA-API-KEY-ID"] == "PKCOUNCIL"


@respx.mock
def test_positions_are_signed_by_side(broker: AlpacaBroker) -> None:
    respx.get(f"{PAPER}/v2/positions").respond(json=[LONG_POSITION, SHORT_POSITION])
    long, short = broker.positions("pm-gpt")
    assert (long.symbol, long.qty, long.avg_entry_price, long.unrealized_pl) == (
        "AAPL", 2, Decimal("174.78"), Decimal("-0.98"))
    assert (short.symbol, short.qty, short.market_value) == ("TLT", -3, Decimal("-267.00"))


@respx.mock
def test_order_lookup_by_client_id_parses_a_partial_fill_and_404_is_none(
        broker: AlpacaBroker) -> None:
    route = respx.get(f"{PAPER}/v2/orders:by_client_order_id")
    route.side_effect = [httpx.Response(200, json=PARTIAL),
                         httpx.Response(404, json={"code": 40410000, "message": "order not found"})]
    found = broker.order_by_client_id("pm-gpt", ORDER["client_order_id"])
    assert found is not None
    assert (found.status, found.qty, found.filled_qty, found.filled_avg_price) == (
        "partially_filled", 10, 4, Decimal("601.2375"))
    assert route.calls.last.request.url.params["client_order_id"] == ORDER["client_order_id"]
    assert broker.order_by_client_id("pm-gpt", "never-sent") is None


@respx.mock
def test_open_orders_asks_for_open_status(broker: AlpacaBroker) -> None:
    route = respx.get(f"{PAPER}/v2/orders").respond(json=[ORDER])
    [order] = broker.open_orders("pm-gpt")
    assert order.status == "accepted" and route.calls.last.request.url.params["status"] == "open"


@respx.mock
def test_asset_reads_borrow_status(broker: AlpacaBroker) -> None:
    respx.get(f"{PAPER}/v2/assets/AAPL").respond(json=ASSET)
    respx.get(f"{PAPER}/v2/assets/USO").respond(
        json={**ASSET, "symbol": "USO", "borrow_status": "hard_to_borrow"})
    assert broker.asset("pm-gpt", "AAPL").easy_to_borrow is True
    uso = broker.asset("pm-gpt", "USO")
    # borrow_status wins over the deprecated flag
    assert uso.shortable is True and uso.easy_to_borrow is False


@respx.mock
def test_clock(broker: AlpacaBroker) -> None:
    respx.get(f"{PAPER}/v2/clock").respond(json=CLOCK)
    clock = broker.clock()
    assert clock.is_open and clock.next_open == datetime(2025, 6, 25, 9, 30, tzinfo=ET)
    assert clock.next_close == datetime(2025, 6, 24, 16, 0, tzinfo=ET)


# --------------------------------------------------------------------------- writes
@respx.mock
def test_a_market_day_order_while_closed_is_accepted_not_filled(broker: AlpacaBroker) -> None:
    route = respx.post(f"{PAPER}/v2/orders").respond(json=ORDER)
    placed = broker.submit_order("pm-gpt", spy_order())
    assert json.loads(route.calls.last.request.content) == {
        "symbol": "SPY", "qty": "10", "side": "buy", "type": "market", "time_in_force": "day",
        "client_order_id": "2026-11-25/pm-gpt/SPY/open"}
    assert placed.status == "accepted" and placed.filled_qty == 0 and placed.filled_at is None
    assert placed.filled_avg_price is None and placed.id == ORDER["id"]
    assert placed.submitted_at == datetime(2026, 11, 25, 8, 0, 0, 577215, tzinfo=ET)


@pytest.mark.parametrize("case", sorted(REJECTIONS))
@respx.mock
def test_refusals_become_broker_rejected_and_are_not_retried(broker: AlpacaBroker,
                                                             case: str) -> None:
    status, body = REJECTIONS[case]
    route = respx.post(f"{PAPER}/v2/orders").respond(status, json=body)
    lookup = respx.get(f"{PAPER}/v2/orders:by_client_order_id")
    with pytest.raises(BrokerRejected) as rejected:
        broker.submit_order("pm-gpt", spy_order())
    assert (rejected.value.status, rejected.value.code, rejected.value.message) == (
        status, body["code"], body["message"])
    assert route.call_count == 1 and not lookup.called


@respx.mock
def test_429_waits_as_the_headers_ask_then_succeeds(broker: AlpacaBroker, sleeps: Sleeps) -> None:
    route = respx.post(f"{PAPER}/v2/orders")
    route.side_effect = [
        httpx.Response(429, json={"message": "too many requests."},
                       headers={"X-RateLimit-Limit": "200", "X-RateLimit-Remaining": "0",
                                "X-RateLimit-Reset": "1700000003"}),
        httpx.Response(429, json={"message": "too many requests."}, headers={"Retry-After": "2"}),
        httpx.Response(200, json=ORDER),
    ]
    assert broker.submit_order("pm-gpt", spy_order()).status == "accepted"
    assert sleeps == [3.0, 2.0] and route.call_count == 3


@respx.mock
def test_429_that_never_clears_is_a_clear_error_with_bounded_waits(broker: AlpacaBroker,
                                                                   sleeps: Sleeps) -> None:
    respx.get(f"{PAPER}/v2/account").respond(429, headers={"X-RateLimit-Reset": "1800000000"})
    with pytest.raises(AlpacaError, match="rate limit"):
        broker.account("pm-gpt")
    assert len(sleeps) == 2 and max(sleeps) <= 30


@respx.mock
def test_a_timeout_on_submit_looks_the_order_up_and_never_sends_it_twice(
        broker: AlpacaBroker) -> None:
    post = respx.post(f"{PAPER}/v2/orders").mock(
        side_effect=httpx.ReadTimeout("read timed out"))
    lookup = respx.get(f"{PAPER}/v2/orders:by_client_order_id").respond(json=ORDER)
    placed = broker.submit_order("pm-gpt", spy_order())
    assert placed.id == ORDER["id"] and post.call_count == 1 and lookup.call_count == 1


@respx.mock
def test_a_5xx_on_submit_resends_only_after_the_lookup_finds_nothing(
        broker: AlpacaBroker) -> None:
    post = respx.post(f"{PAPER}/v2/orders")
    post.side_effect = [httpx.Response(503, text="upstream unavailable"),
                        httpx.Response(200, json=ORDER)]
    lookup = respx.get(f"{PAPER}/v2/orders:by_client_order_id").respond(
        404, json={"code": 40410000, "message": "order not found"})
    assert broker.submit_order("pm-gpt", spy_order()).id == ORDER["id"]
    assert post.call_count == 2 and lookup.call_count == 1


@respx.mock
def test_a_resend_refused_as_duplicate_returns_the_order_that_landed(
        broker: AlpacaBroker) -> None:
    post = respx.post(f"{PAPER}/v2/orders")
    post.side_effect = [httpx.ConnectTimeout("timed out"),
                        httpx.Response(422, json=REJECTIONS["duplicate"][1])]
    lookup = respx.get(f"{PAPER}/v2/orders:by_client_order_id")
    lookup.side_effect = [
        httpx.Response(404, json={"code": 40410000, "message": "order not found"}),
        httpx.Response(200, json=ORDER)]
    assert (broker.submit_order("pm-gpt", spy_order()).id == ORDER["id"]
            and post.call_count == 2)


@respx.mock
def test_reads_retry_server_errors(broker: AlpacaBroker, sleeps: Sleeps) -> None:
    route = respx.get(f"{PAPER}/v2/positions")
    route.side_effect = [httpx.Response(500), httpx.ReadTimeout("slow"),
                         httpx.Response(200, json=[])]
    assert broker.positions("pm-gpt") == [] and route.call_count == 3 and sleeps == [0.5, 1.0]


@respx.mock
def test_cancel_looks_up_our_client_id_then_deletes_alpacas_order(broker: AlpacaBroker) -> None:
    respx.get(f"{PAPER}/v2/orders:by_client_order_id").respond(json=ORDER)
    delete = respx.delete(f"{PAPER}/v2/orders/{ORDER['id']}").respond(204)
    broker.cancel_order("pm-gpt", ORDER["client_order_id"])
    assert delete.called


@respx.mock
def test_close_position_returns_the_closing_order(broker: AlpacaBroker) -> None:
    closing = {**ORDER, "side": "sell", "qty": "2", "symbol": "AAPL",
               "client_order_id": "52f8574c-96d5"}
    respx.delete(f"{PAPER}/v2/positions/AAPL").respond(json=closing)
    order = broker.close_position("pm-gpt", "AAPL")
    assert (order.side, order.qty, order.status) == (OrderSide.SELL, 2, "accepted")


@respx.mock
def test_a_close_without_answer_is_not_resent(broker: AlpacaBroker) -> None:
    route = respx.delete(f"{PAPER}/v2/positions/AAPL").mock(
        side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(AlpacaError, match="check its open orders"):
        broker.close_position("pm-gpt", "AAPL")
    assert route.call_count == 1


@respx.mock
def test_bad_keys_name_the_key_env_and_never_the_secret(broker: AlpacaBroker) -> None:
    respx.get(f"{PAPER}/v2/account").respond(
        401, json={"code": 40110000, "message": "request is not authorized"})
    with pytest.raises(AlpacaError) as error:
        broker.account("pm-gpt")
    assert "pm-gpt" in str(error.value) and "ALPACA_PM_GPT_KEY_ID" in str(error.value)
    assert ("gpt-secret-value" not in str(error.value)
            and "PKGPTKEY" not in str(error.value))


def test_an_account_without_keys_is_named(broker: AlpacaBroker) -> None:
    with pytest.raises(AlpacaError, match="'pm-claude'"):
        broker.account("pm-claude")


# --------------------------------------------------------------------------- market data
WED_NOON = datetime(2026, 11, 25, 12, 0, tzinfo=ET)


@pytest.fixture
def market(broker: AlpacaBroker) -> AlpacaMarketData:
    return AlpacaMarketData(DATA, broker, ["SPY", "TLT"], clock=lambda: WED_NOON)


@respx.mock
def test_calendar_holidays_are_closed_and_early_closes_end_at_1300(
        market: AlpacaMarketData) -> None:
    route = respx.get(f"{PAPER}/v2/calendar").respond(json=NOVEMBER_2026)
    assert market.session(date(2026, 11, 26)) is None  # Thanksgiving
    friday = market.session(date(2026, 11, 27))
    assert friday is not None and friday.close == datetime(2026, 11, 27, 13, 0, tzinfo=ET)
    assert market.session(date(2026, 11, 28)) is None  # Saturday
    assert market.next_open(datetime(2026, 11, 25, 16, 0, tzinfo=ET)) == datetime(
        2026, 11, 27, 9, 30, tzinfo=ET)
    assert route.call_count == 1  # the month is cached
    # date-times, as the spec declares them: midnight in New York (still EDT on Nov 1)
    assert dict(route.calls.last.request.url.params) == {"start": "2026-11-01T00:00:00-04:00",
                                                         "end": "2026-11-30T00:00:00-05:00"}


@respx.mock
def test_a_price_now_is_the_latest_iex_trade(market: AlpacaMarketData) -> None:
    respx.get(f"{PAPER}/v2/calendar").respond(json=NOVEMBER_2026)
    latest = respx.get(f"{DATA}/v2/stocks/trades/latest").respond(
        content=numbers({"trades": {"SPY": trade("2026-11-25T16:59:59.361102308Z",
                                                 "601.37")}}))
    assert market.price("SPY", WED_NOON) == Decimal("601.37")
    assert dict(latest.calls.last.request.url.params) == {"symbols": "SPY", "feed": "iex"}
    assert latest.calls.last.request.headers["APCA-API-KEY-ID"] == "PKGPTKEY"


@respx.mock
def test_an_earlier_price_is_the_last_minute_bar_across_pages(
        market: AlpacaMarketData) -> None:
    respx.get(f"{PAPER}/v2/calendar").respond(json=NOVEMBER_2026)
    bars = respx.get(f"{DATA}/v2/stocks/bars")
    bars.side_effect = [
        httpx.Response(200, content=numbers({
            "bars": {"SPY": [bar("2026-11-25T14:30:00Z", "600.10")]},
            "next_page_token": "U1BZfE18MjAyNi0xMS0yNVQxNDozMDowMFo="})),
        httpx.Response(200, content=numbers({
            "bars": {"SPY": [bar("2026-11-25T15:59:00Z", "600.95")]}, "next_page_token": None})),
    ]
    assert market.price("SPY", datetime(2026, 11, 25, 11, 0, tzinfo=ET)) == Decimal("600.95")
    first, second = (call.request.url.params for call in bars.calls)
    assert (first["timeframe"], first["feed"], first["symbols"]) == ("1Min", "iex", "SPY")
    assert (first["start"] == "2026-11-25T14:30:00+00:00"
            and first["end"] == "2026-11-25T16:00:00+00:00")
    assert ("page_token" not in first
            and second["page_token"] == "U1BZfE18MjAyNi0xMS0yNVQxNDozMDowMFo=")


@respx.mock
def test_while_closed_the_price_is_the_previous_sessions_daily_close(
        market: AlpacaMarketData) -> None:
    respx.get(f"{PAPER}/v2/calendar").respond(json=NOVEMBER_2026)
    bars = respx.get(f"{DATA}/v2/stocks/bars").respond(
        content=numbers({"bars": {"TLT": [bar("2026-11-25T05:00:00Z", "89.41")]},
                         "next_page_token": None}))
    thanksgiving = datetime(2026, 11, 26, 12, 0, tzinfo=ET)
    assert market.price("TLT", thanksgiving) == Decimal("89.41")
    params = bars.calls.last.request.url.params
    assert params["timeframe"] == "1Day" and params["start"] == "2026-11-25T05:00:00+00:00"
    assert isinstance(market.price("TLT", thanksgiving), Decimal)


def test_the_calendar_agrees_with_the_simulated_market(settings: Settings, tmp_path: Path) -> None:
    sim_market = SimMarket(settings.assets)
    sim = SimBroker(sim_market, SqliteOrderLedger(tmp_path / "ledger.sqlite"),
                    starting_equity=100_000, min_equity_for_short=2000, clock=lambda: WED_NOON)
    broker = AlpacaBroker(PAPER, KEYS, sleep=lambda _: None)
    with respx.mock:
        FakeAlpaca(sim, sim_market, KEYS, clock=lambda: WED_NOON).install(respx.mock)
        market = AlpacaMarketData(DATA, broker, sim_market.symbols, clock=lambda: WED_NOON)
        for offset in range(45):
            day = date.fromordinal(date(2026, 11, 15).toordinal() + offset)
            assert market.session(day) == sim_market.session(day), day
        assert broker.clock().next_open == datetime(2026, 11, 27, 9, 30, tzinfo=ET)


# --------------------------------------------------------------------------- spec conformance
def _schema(spec: str, name: str) -> dict[str, Any]:
    path = SPECS / spec
    if not path.exists():
        pytest.skip(f"{path} is absent")
    return cast(dict[str, Any], json.loads(path.read_text())["components"]["schemas"][name])


@pytest.mark.parametrize(("spec", "schema", "fixture"), [
    ("alpaca-trading-api.json", "Account", ACCOUNT),
    ("alpaca-trading-api.json", "Order", ORDER),
    ("alpaca-trading-api.json", "Order", PARTIAL),
    ("alpaca-trading-api.json", "Position", LONG_POSITION),
    ("alpaca-trading-api.json", "Position", SHORT_POSITION),
    ("alpaca-trading-api.json", "Assets", ASSET),
    ("alpaca-trading-api.json", "legacy_clock", CLOCK),
    ("alpaca-trading-api.json", "legacy_calendar_day", NOVEMBER_2026[0]),
    ("alpaca-market-data-api.json", "stock_bar", bar("2026-11-25T14:30:00Z", "1")),
    ("alpaca-market-data-api.json", "stock_trade", trade("2026-11-25T14:30:00Z", "1")),
], ids=lambda value: value if isinstance(value, str) else "")
def test_fixtures_have_the_spec_keys(spec: str, schema: str, fixture: dict[str, Any]) -> None:
    shape = _schema(spec, schema)
    # the spec lists fields it has deprecated as required; we send no deprecated field
    deprecated = {k for k, v in shape["properties"].items() if v.get("deprecated")}
    assert set(shape.get("required", [])) - deprecated <= set(fixture)
    unknown = set(fixture) - set(shape["properties"])
    # in the spec's own EquityOrderResponse example
    assert unknown <= {"source", "subtag"}, unknown


def test_the_fake_servers_json_has_the_spec_keys(tmp_path: Path) -> None:
    from llmtrade.schemas import BrokerOrder, Position

    order = BrokerOrder(id="x", client_order_id="c", symbol="SPY", qty=3, side=OrderSide.SELL,
                        status="filled", submitted_at=WED_NOON, filled_at=WED_NOON, filled_qty=3,
                        filled_avg_price=Decimal("600"))
    position = Position(symbol="SPY", qty=-3, avg_entry_price=Decimal("600"),
                        market_value=Decimal("-1800"), unrealized_pl=Decimal("0"))
    for schema, produced in (("Order", order_json(order)),
                             ("Position", position_json(position))):
        shape = _schema("alpaca-trading-api.json", schema)
        assert set(shape.get("required", [])) <= set(produced) <= set(shape["properties"]), schema
