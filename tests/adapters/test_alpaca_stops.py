"""The protective stop order at Alpaca: the request as the Trading API spec describes it (`type:
stop`, a `stop_price` string, `time_in_force: gtc` so it outlasts the week), read back as sent."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import respx
from llmtrade.adapters.broker.alpaca import AlpacaBroker
from llmtrade.schemas import OrderRequest, OrderSide
from pydantic import ValidationError

from tests.adapters.alpaca_examples import ORDER

SPEC = Path(__file__).resolve().parents[2].parent / "shared" / "specs" / "alpaca-trading-api.json"
PAPER = "https://paper-api.alpaca.markets"
STOP_ID = "pm-gpt-2026-11-25-SPY-stop-cp11251200"


def _spec() -> dict[str, Any]:
    if not SPEC.exists():
        pytest.skip(f"{SPEC} is absent")
    spec: dict[str, Any] = json.loads(SPEC.read_text())
    return spec


@respx.mock
def test_a_protective_stop_is_sent_as_the_spec_says_and_read_back() -> None:
    resting = {**ORDER, "client_order_id": STOP_ID, "side": "sell", "type": "stop",
               "order_type": "stop", "time_in_force": "gtc", "stop_price": "582.47",
               "status": "new"}
    route = respx.post(f"{PAPER}/v2/orders").respond(json=resting)
    broker = AlpacaBroker(PAPER, {"pm-gpt": ("PK", "secret")}, sleep=lambda _: None)
    placed = broker.submit_order("pm-gpt", OrderRequest.stop("SPY", 10, OrderSide.SELL,
                                                             Decimal("582.47"), STOP_ID))
    sent = json.loads(route.calls.last.request.content)
    assert sent == {"symbol": "SPY", "qty": "10", "side": "sell", "type": "stop",
                    "time_in_force": "gtc", "stop_price": "582.47", "client_order_id": STOP_ID}
    assert (placed.type, placed.stop_price, placed.status) == ("stop", Decimal("582.47"), "new")
    assert placed.is_open
    # against the spec: known fields, a stop type, a time in force good until cancelled, the stop
    # price as a string
    spec = _spec()
    body = spec["paths"]["/v2/orders"]["post"]["requestBody"]["content"]["application/json"]
    schema, schemas = body["schema"], spec["components"]["schemas"]
    assert set(schema["required"]) <= set(sent) <= set(schema["properties"])
    assert sent["type"] in schemas["OrderType"]["enum"]
    assert sent["time_in_force"] in schemas["TimeInForce"]["enum"]
    assert "gtc:\n  The order is good until canceled" in schemas["TimeInForce"]["description"]
    assert schema["properties"]["stop_price"]["type"] == "string"
    assert "required if type is `stop`" in schema["properties"]["stop_price"]["description"]


def test_a_stop_order_needs_a_stop_price_and_only_a_stop_order_has_one() -> None:
    with pytest.raises(ValidationError, match="stop_price"):
        OrderRequest(symbol="SPY", qty=1, side=OrderSide.SELL, type="stop", client_order_id="x")
    with pytest.raises(ValidationError, match="stop_price"):
        OrderRequest(symbol="SPY", qty=1, side=OrderSide.SELL, stop_price=Decimal("1"),
                     client_order_id="x")


@respx.mock
def test_an_entry_goes_in_as_an_oto_with_its_stop_loss_as_the_spec_says() -> None:
    entry_id = "pm-gpt-2026-11-25-SPY-open"
    leg = {**ORDER, "id": "c7f5a1c4-93a3-4b9b-8a67-0a8f3f1f6b10",
           "client_order_id": "0e6fc0fb-8d5e-4f8e-b0a4-6cbb5c7d9d11", "side": "sell",
           "type": "stop", "order_type": "stop", "time_in_force": "gtc", "stop_price": "582.47",
           "status": "held", "order_class": "oto"}
    answer = {**ORDER, "client_order_id": entry_id, "time_in_force": "gtc", "status": "accepted",
              "order_class": "oto", "legs": [leg]}
    route = respx.post(f"{PAPER}/v2/orders").respond(json=answer)
    broker = AlpacaBroker(PAPER, {"pm-gpt": ("PK", "secret")}, sleep=lambda _: None)
    placed = broker.submit_order("pm-gpt", OrderRequest(
        symbol="SPY", qty=10, side=OrderSide.BUY, time_in_force="gtc",
        stop_loss=Decimal("582.47"), client_order_id=entry_id))
    sent = json.loads(route.calls.last.request.content)
    assert sent == {"symbol": "SPY", "qty": "10", "side": "buy", "type": "market",
                    "time_in_force": "gtc", "client_order_id": entry_id, "order_class": "oto",
                    "stop_loss": {"stop_price": "582.47"}}
    [stop] = placed.legs
    assert (stop.client_order_id, stop.type, stop.side, stop.stop_price, stop.status) == (
        leg["client_order_id"], "stop", OrderSide.SELL, Decimal("582.47"), "held")
    spec = _spec()
    body = spec["paths"]["/v2/orders"]["post"]["requestBody"]["content"]["application/json"]
    schema, schemas = body["schema"], spec["components"]["schemas"]
    assert set(sent) <= set(schema["properties"])
    assert sent["order_class"] in schemas["OrderClass"]["enum"]
    assert set(sent["stop_loss"]) <= set(schema["properties"]["stop_loss"]["properties"])
    assert schema["properties"]["stop_loss"]["properties"]["stop_price"]["type"] == "string"
    # the answer's `legs`: the fields read from a leg are the spec's OrderLeg's
    read = {"id", "client_order_id", "symbol", "qty", "side", "status", "submitted_at",
            "filled_at", "filled_qty", "filled_avg_price", "type", "stop_price"}
    assert "legs" in schemas["Order"]["properties"]
    assert read <= set(schemas["OrderLeg"]["properties"])


def test_a_stop_loss_rides_on_a_market_order_good_until_cancelled() -> None:
    with pytest.raises(ValidationError, match="stop_loss"):
        OrderRequest(symbol="SPY", qty=1, side=OrderSide.BUY, stop_loss=Decimal(1),
                     client_order_id="x")
