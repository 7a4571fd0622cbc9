"""What Alpaca sends, checked before use: JSON of the expected shape, the fields we read present
and parseable, or an AlpacaError that says what came back (never an AttributeError or a KeyError).
Only the fields used are read, so fields Alpaca adds or removes (the PDT fields in 2026-07,
`easy_to_borrow` in 2026-09) never break a read. Every message passes the shared key scrubber."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ConfigDict

from llmtrade.adapters.http_retry import scrub
from llmtrade.domain.calendar import ET
from llmtrade.ports import Session
from llmtrade.schemas import BrokerOrder, OrderSide, Position

_T = TypeVar("_T")


class AlpacaError(RuntimeError):
    """Alpaca could not be reached or answered in a way no retry fixes (bad keys, no retry left,
    a body we cannot use). The message is scrubbed of every key."""

    def __init__(self, message: str) -> None:
        super().__init__(scrub(message))


class MarketClock(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)
    timestamp: datetime
    is_open: bool
    next_open: datetime
    next_close: datetime


def decimal_json(response: httpx.Response) -> Any:
    try:
        return json.loads(response.text, parse_float=Decimal)
    except ValueError as exc:
        raise AlpacaError(f"Alpaca answered {response.request.method} {response.request.url.path}"
                          f" with a body that is not JSON: {response.text[:200]!r}") from exc


def shaped(data: Any, kind: type[dict[str, Any]] | type[list[Any]], what: str) -> Any:
    """`data` when it is a JSON object (dict) or array (list) as `kind` asks, else AlpacaError."""
    if not isinstance(data, kind):
        due = "an object" if kind is dict else "a list"
        raise AlpacaError(f"Alpaca's {what} is not {due}: {json.dumps(data, default=str)[:200]}")
    return data


def parsed(parse: Callable[[Any], _T], data: Any, what: str) -> _T:
    """`parse(data)`, with a missing field or a value that does not parse as an AlpacaError."""
    try:
        return parse(shaped(data, dict, what))
    except (KeyError, TypeError, ValueError, InvalidOperation) as exc:
        detail = f"no field {exc}" if isinstance(exc, KeyError) else f"{type(exc).__name__}: {exc}"
        raise AlpacaError(f"Alpaca's {what} cannot be read ({detail}):"
                          f" {json.dumps(data, default=str)[:200]}") from exc


def calendar_session(entry: Mapping[str, Any]) -> Session:
    day = date.fromisoformat(entry["date"])
    opens, closes = (datetime.combine(day, datetime.strptime(entry[k], "%H:%M").time(), tzinfo=ET)
                     for k in ("open", "close"))
    return Session(day=day, open=opens, close=closes)


def whole(value: str | None, what: str) -> int:
    quantity = Decimal(value or "0")
    if quantity != quantity.to_integral_value():
        raise AlpacaError(f"{what} {value} is fractional; this project trades whole shares only")
    return int(quantity)


def moment(value: str | None) -> datetime | None:
    # Alpaca sends nanoseconds ("…24.668464435Z"); fromisoformat keeps microseconds
    return datetime.fromisoformat(value) if value else None


def parse_position(data: Mapping[str, Any]) -> Position:
    return parsed(_position, data, "position")


def _position(data: Mapping[str, Any]) -> Position:
    # signed by `side`, whatever qty's sign
    shares = abs(whole(str(data["qty"]), f"position {data['symbol']} qty"))  # required
    return Position(symbol=data["symbol"], qty=-shares if data["side"] == "short" else shares,
                    avg_entry_price=Decimal(data["avg_entry_price"]),
                    market_value=Decimal(data["market_value"]),
                    unrealized_pl=Decimal(data["unrealized_pl"]))


def parse_order(data: Mapping[str, Any]) -> BrokerOrder:
    return parsed(_order, data, "order")


def _order(data: Mapping[str, Any]) -> BrokerOrder:
    price, stop = data.get("filled_avg_price"), data.get("stop_price")
    return BrokerOrder(
        id=data["id"], client_order_id=data["client_order_id"], symbol=data["symbol"],
        qty=whole(data.get("qty"), f"order {data['client_order_id']} qty"),
        side=OrderSide(data["side"]), status=data["status"],
        submitted_at=moment(data.get("submitted_at") or data["created_at"]),
        filled_at=moment(data.get("filled_at")),
        filled_qty=whole(data.get("filled_qty"), f"order {data['client_order_id']} filled_qty"),
        filled_avg_price=Decimal(price) if price is not None else None,
        type=data.get("type") or data.get("order_type") or "market",
        stop_price=Decimal(stop) if stop is not None else None,
        legs=[_order(leg) for leg in data.get("legs") or []],
    )
