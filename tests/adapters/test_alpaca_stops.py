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
