"""AlpacaBroker and AlpacaMarketData against answers that are not the happy path: fields removed
in 2026 (the PDT fields, easy_to_borrow), new fields, bodies of the wrong shape, and a bars server
that never stops paging. Each ends as an AlpacaError that says what came back, or is read fine."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
import respx
from llmtrade.adapters.broker.alpaca import (
    MAX_BAR_PAGES,
    AlpacaBroker,
    AlpacaError,
    AlpacaMarketData,
)
from llmtrade.domain.calendar import ET

from tests.adapters.alpaca_examples import (
    ACCOUNT,
    ASSET,
    LONG_POSITION,
    NOVEMBER_2026,
    ORDER,
    bar,
    numbers,
)

PAPER = "https://paper-api.alpaca.markets"
DATA = "https://data.alpaca.markets"
KEYS = {"pm-gpt": ("PKGPTKEY", "gpt-secret-value")}
WED_11 = datetime(2026, 11, 25, 11, 0, tzinfo=ET)
PDT_FIELDS = ("pattern_day_trader", "daytrade_count", "daytrading_buying_power")


@pytest.fixture
def broker() -> AlpacaBroker:
    return AlpacaBroker(PAPER, KEYS, timeout=1.0, max_attempts=2, sleep=lambda _: None)


@pytest.fixture
def market(broker: AlpacaBroker) -> AlpacaMarketData:
    return AlpacaMarketData(DATA, broker, ["SPY"], clock=lambda: datetime(2026, 11, 25, 12, 0,
                                                                          tzinfo=ET))


@respx.mock
def test_an_account_without_the_removed_pdt_fields_and_with_new_ones_is_read(
        broker: AlpacaBroker) -> None:
    account = {k: v for k, v in ACCOUNT.items() if k not in PDT_FIELDS}
    respx.get(f"{PAPER}/v2/account").respond(json={**account, "intraday_margin_excess": "12.5",
                                                   "new_field": {"nested": [1, 2]}})
    assert broker.account("pm-gpt").equity == Decimal("123346.11")


@respx.mock
def test_an_asset_without_easy_to_borrow_reads_borrow_status(broker: AlpacaBroker) -> None:
    asset = {k: v for k, v in ASSET.items() if k != "easy_to_borrow"}
    respx.get(f"{PAPER}/v2/assets/AAPL").respond(json=asset)
    respx.get(f"{PAPER}/v2/assets/BTCUSD").respond(  # borrow_status is absent off US equities
        json={k: v for k, v in asset.items() if k != "borrow_status"} | {"symbol": "BTCUSD"})
    assert broker.asset("pm-gpt", "AAPL").easy_to_borrow is True
    assert broker.asset("pm-gpt", "BTCUSD").easy_to_borrow is False


@pytest.mark.parametrize(("path", "body", "read", "what"), [
    ("/v2/positions", {"message": "positions moved"}, "positions", "positions is not a list"),
    ("/v2/orders", {"orders": []}, "open_orders", "open orders is not a list"),
    ("/v2/account", [ACCOUNT], "account", "account is not an object"),
    ("/v2/account", {"equity": "1"}, "account", "no field 'cash'"),
    ("/v2/account", {**ACCOUNT, "equity": "lots"}, "account", "account cannot be read"),
    ("/v2/positions", [{**LONG_POSITION, "qty": None}], "positions", "position cannot be read"),
    ("/v2/orders", [{k: v for k, v in ORDER.items() if k != "side"}], "open_orders",
     "no field 'side'"),
    ("/v2/assets/AAPL", "AAPL", "asset", "asset AAPL is not an object"),
    ("/v2/clock", {"is_open": "maybe"}, "clock", "clock cannot be read"),
])
@respx.mock
def test_a_body_of_the_wrong_shape_is_an_alpaca_error(broker: AlpacaBroker, path: str, body: Any,
                                                      read: str, what: str) -> None:
    respx.get(f"{PAPER}{path}").respond(json=body)
    calls: dict[str, Callable[[], object]] = {"positions": lambda: broker.positions("pm-gpt"),
             "open_orders": lambda: broker.open_orders("pm-gpt"),
             "account": lambda: broker.account("pm-gpt"),
             "asset": lambda: broker.asset("pm-gpt", "AAPL"),
             "clock": lambda: broker.clock("pm-gpt")}
    with pytest.raises(AlpacaError, match=what):
        calls[read]()


@respx.mock
def test_a_body_that_is_not_json_is_an_alpaca_error(broker: AlpacaBroker) -> None:
    respx.get(f"{PAPER}/v2/account").respond(200, text="<html>maintenance</html>")
    with pytest.raises(AlpacaError, match=r"not JSON.*maintenance"):
        broker.account("pm-gpt")


@respx.mock
def test_a_calendar_of_the_wrong_shape_is_an_alpaca_error(market: AlpacaMarketData) -> None:
    respx.get(f"{PAPER}/v2/calendar").respond(json={"days": NOVEMBER_2026})
    with pytest.raises(AlpacaError, match="calendar is not a list"):
        market.session(WED_11.date())


def _page(token: str | None) -> httpx.Response:
    return httpx.Response(200, content=numbers({
        "bars": {"SPY": [bar("2026-11-25T14:30:00Z", "600.10")]}, "next_page_token": token}))


@respx.mock
def test_a_repeated_page_token_ends_in_a_clear_error(market: AlpacaMarketData) -> None:
    respx.get(f"{PAPER}/v2/calendar").respond(json=NOVEMBER_2026)
    bars = respx.get(f"{DATA}/v2/stocks/bars").mock(side_effect=lambda _: _page("same-token"))
    with pytest.raises(AlpacaError, match="repeated the bars page token 'same-token'"):
        market.price("SPY", WED_11)
    assert bars.call_count == 2


@respx.mock
def test_pagination_stops_after_the_page_limit(market: AlpacaMarketData) -> None:
    respx.get(f"{PAPER}/v2/calendar").respond(json=NOVEMBER_2026)
    pages = iter(range(10**6))
    bars = respx.get(f"{DATA}/v2/stocks/bars").mock(
        side_effect=lambda _: _page(f"token-{next(pages)}"))
    with pytest.raises(AlpacaError, match=f"did not end within {MAX_BAR_PAGES} pages"):
        market.price("SPY", WED_11)
    assert bars.call_count == MAX_BAR_PAGES


@respx.mock
def test_bars_of_the_wrong_shape_are_an_alpaca_error(market: AlpacaMarketData) -> None:
    respx.get(f"{PAPER}/v2/calendar").respond(json=NOVEMBER_2026)
    respx.get(f"{DATA}/v2/stocks/bars").respond(json={"bars": [{"c": 1}]})
    with pytest.raises(AlpacaError, match="bars is not an object"):
        market.price("SPY", WED_11)
