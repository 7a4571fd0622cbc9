"""Alpaca's answers in the shapes of its OpenAPI specs, for the adapter tests.

The spec's examples (Account, Position, EquityOrderResponse, Assets, legacy_clock, stock_bars_resp,
stock_latest_trades_resp), adapted to a market day order; error bodies are ones Alpaca returns
({"code", "message"})."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

ACCOUNT = {  # spec: GET /v2/account example (trimmed of nothing we read)
    "account_blocked": False, "account_number": "PALPACA_123", "accrued_fees": "0",
    "balance_asof": "2023-09-27", "buying_power": "245432.61", "cash": "122086.5",
    "created_at": "2023-01-01T18:20:20.272275Z", "currency": "USD", "equity": "123346.11",
    "id": "1d9eed04-be39-4e01-9b84-a48ac5bbafcf", "initial_margin": "629.8",
    "intraday_adjustments": "0", "last_equity": "122011.09751111286868",
    "last_maintenance_margin": "480.73", "long_market_value": "1259.61",
    "maintenance_margin": "377.88", "multiplier": "2", "non_marginable_buying_power": "122086.5",
    "options_buying_power": "122716.305", "options_trading_level": 2, "pending_reg_taf_fees": "0",
    "pending_transfer_in": "0", "portfolio_value": "123346.11", "regt_buying_power": "245432.61",
    "short_market_value": "0", "shorting_enabled": True, "sma": "123369.74", "status": "ACTIVE",
    "trade_suspended_by_user": False, "trading_blocked": False, "transfers_blocked": False,
}
LONG_POSITION = {  # spec: Position example-2
    "asset_class": "us_equity", "asset_id": "b0b6dd9d-8b9b-48a9-ba46-b9d54906e415",
    "asset_marginable": False, "avg_entry_price": "174.78", "change_today": "-0.0018326556325525",
    "cost_basis": "349.56", "current_price": "174.29", "exchange": "NASDAQ",
    "lastday_price": "174.61", "market_value": "348.58", "qty": "2", "qty_available": "2",
    "side": "long", "symbol": "AAPL", "unrealized_intraday_pl": "-0.98",
    "unrealized_intraday_plpc": "-0.0028035244307129", "unrealized_pl": "-0.98",
    "unrealized_plpc": "-0.0028035244307129",
}
SHORT_POSITION = {**LONG_POSITION, "symbol": "TLT", "qty": "-3", "qty_available": "-3",
                  "side": "short", "avg_entry_price": "90.10", "market_value": "-267.00",
                  "cost_basis": "-270.30", "unrealized_pl": "3.30"}
# spec: EquityOrderResponse, as a market day order submitted while the market is closed
ORDER: dict[str, Any] = {
    "asset_class": "us_equity", "asset_id": "b0b6dd9d-8b9b-48a9-ba46-b9d54906e415",
    "canceled_at": None, "client_order_id": "2026-11-25/pm-gpt/SPY/open",
    "created_at": "2026-11-25T13:00:00.668464435Z", "expired_at": None, "extended_hours": False,
    "failed_at": None, "filled_at": None, "filled_avg_price": None, "filled_qty": "0", "hwm": None,
    "id": "7b08df51-c1ac-453c-99f9-323a5f075f0d", "legs": None, "limit_price": None,
    "notional": None, "order_class": "", "order_type": "market", "qty": "10", "replaced_at": None,
    "replaced_by": None, "replaces": None, "side": "buy", "source": None, "status": "accepted",
    "stop_price": None, "submitted_at": "2026-11-25T13:00:00.577215743Z", "subtag": None,
    "symbol": "SPY", "time_in_force": "day", "trail_percent": None, "trail_price": None,
    "type": "market", "updated_at": "2026-11-25T13:00:00.668464435Z",
}
PARTIAL = {**ORDER, "status": "partially_filled", "filled_qty": "4", "filled_avg_price": "601.2375",
           "updated_at": "2026-11-25T14:30:01.2Z"}
ASSET = {  # spec: Assets example-1
    "borrow_status": "easy_to_borrow", "class": "us_equity", "easy_to_borrow": True,
    "exchange": "NASDAQ", "fractionable": True, "id": "b0b6dd9d-8b9b-48a9-ba46-b9d54906e415",
    "marginable": True, "name": "Apple Inc. Common Stock", "shortable": True, "status": "active",
    "symbol": "AAPL", "tradable": True,
}
CLOCK = {"is_open": True, "next_close": "2025-06-24T16:00:00-04:00",  # spec: legacy_clock example
         "next_open": "2025-06-25T09:30:00-04:00", "timestamp": "2025-06-24T14:15:22-04:00"}
REJECTIONS = {  # bodies as Alpaca sends them
    "buying power": (403, {"buying_power": "176531.28", "code": 40310000, "cost_basis": "48640000",
                           "message": "insufficient buying power"}),
    "opposite order": (403, {"code": 40310000,
                             "message": "cannot open a long buy while a short sell order is open"}),
    "invalid": (422, {"code": 40010001, "message": "qty must be > 0"}),
    "duplicate": (422, {"code": 40010001, "message": "client_order_id must be unique"}),
}


def calendar_day(day: str, close: str = "16:00") -> dict[str, str]:
    return {"date": day, "open": "09:30", "close": close, "session_open": "0400",
            "session_close": "2000", "settlement_date": day}


# Thanksgiving absent, the Friday after it early
NOVEMBER_2026 = [calendar_day(f"2026-11-{d:02d}")
                 for d in (2, 3, 4, 5, 6, 9, 10, 11, 12, 13, 16, 17, 18, 19, 20, 23, 24, 25)] \
    + [calendar_day("2026-11-27", close="13:00"), calendar_day("2026-11-30")]


def bar(at: str, close: str) -> dict[str, Any]:  # spec: stock_bar
    return {"c": Decimal(close), "h": Decimal(close), "l": Decimal(close), "n": 12,
            "o": Decimal(close), "t": at, "v": 900, "vw": Decimal(close)}


def trade(at: str, price: str) -> dict[str, Any]:  # spec: stock_trade
    return {"c": ["@"], "i": 826, "p": Decimal(price), "s": 100, "t": at, "x": "V", "z": "B"}


def numbers(body: Any) -> str:
    """JSON with the Decimal fixtures as JSON numbers, as the market data API sends prices."""
    return json.dumps(_as_floats(body))


def _as_floats(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dict):
        return {k: _as_floats(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_floats(v) for v in value]
    return value
