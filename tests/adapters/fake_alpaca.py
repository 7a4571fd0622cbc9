"""A stateful fake Alpaca paper server in respx, backed by the simulated broker and market.

Routes translate Alpaca HTTP requests into SimBroker / SimMarket calls and answer in the shapes of
Alpaca's OpenAPI spec (numbers as strings, errors as {"code", "message"} with Alpaca's statuses), so
the AlpacaBroker can run the same broker contract as SimBroker.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import respx
from llmtrade.adapters.broker.sim_broker import SimBroker
from llmtrade.adapters.broker.sim_market import SimMarket
from llmtrade.domain.calendar import ET
from llmtrade.ports import BrokerRejected
from llmtrade.schemas import BrokerOrder, OrderRequest, OrderSide, Position

PAPER_URL = "https://paper-api.alpaca.markets"
DATA_URL = "https://data.alpaca.markets"
NOT_AUTHORIZED = {"code": 40110000, "message": "request is not authorized"}


def iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z") if moment else None


def asset_id(symbol: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"asset://{symbol}"))


def order_json(order: BrokerOrder) -> dict[str, Any]:
    stamp = iso(order.submitted_at)
    return {
        "id": order.id, "client_order_id": order.client_order_id, "created_at": stamp,
        "updated_at": iso(order.filled_at) or stamp, "submitted_at": stamp,
        "filled_at": iso(order.filled_at), "expired_at": None,
        "canceled_at": stamp if order.status == "canceled" else None, "failed_at": None,
        "replaced_at": None, "replaced_by": None, "replaces": None,
        "asset_id": asset_id(order.symbol), "symbol": order.symbol, "asset_class": "us_equity",
        "notional": None, "qty": str(order.qty), "filled_qty": str(order.filled_qty),
        "filled_avg_price": (str(order.filled_avg_price)
                             if order.filled_avg_price is not None else None),
        "order_class": "oto" if order.legs else "", "order_type": order.type, "type": order.type,
        "side": order.side.value,
        "time_in_force": "gtc" if order.type == "stop" or order.legs else "day",
        "limit_price": None,
        "stop_price": str(order.stop_price) if order.stop_price is not None else None,
        "status": order.status,
        "extended_hours": False, "legs": [order_json(leg) for leg in order.legs] or None,
        "trail_percent": None, "trail_price": None,
        "hwm": None,
    }


def position_json(position: Position, held_for_orders: int = 0) -> dict[str, Any]:
    cost_basis = position.qty * position.avg_entry_price
    price = position.market_value / position.qty
    return {
        "asset_id": asset_id(position.symbol), "symbol": position.symbol, "exchange": "ARCA",
        "asset_class": "us_equity", "asset_marginable": True, "qty": str(position.qty),
        "qty_available": str(position.qty - held_for_orders if position.qty > 0
                             else position.qty + held_for_orders),
        "side": "long" if position.qty > 0 else "short",
        "avg_entry_price": str(position.avg_entry_price),
        "market_value": str(position.market_value), "cost_basis": str(cost_basis),
        "unrealized_pl": str(position.unrealized_pl),
        "unrealized_plpc": str((position.unrealized_pl / abs(cost_basis))
                               .quantize(Decimal("0.0001"))),
        "unrealized_intraday_pl": "0", "unrealized_intraday_plpc": "0",
        "current_price": str(price),
        "lastday_price": str(price), "change_today": "0",
    }


class FakeAlpaca:
    def __init__(self, broker: SimBroker, market: SimMarket,
                 credentials: Mapping[str, tuple[str, str]], clock: Callable[[], datetime],
                 base_url: str = PAPER_URL) -> None:
        self.broker, self.market, self.clock, self.base_url = broker, market, clock, base_url
        self._accounts = {pair: account for account, pair in credentials.items()}

    def install(self, router: respx.MockRouter) -> FakeAlpaca:
        base = self.base_url
        router.get(f"{base}/v2/account").mock(side_effect=self._authed(self._account))
        router.get(f"{base}/v2/positions").mock(side_effect=self._authed(self._positions))
        router.delete(url__regex=rf"{base}/v2/positions/(?P<symbol>[A-Z.]+)$").mock(
            side_effect=self._authed(self._close_position))
        router.post(f"{base}/v2/orders").mock(side_effect=self._authed(self._submit))
        router.get(f"{base}/v2/orders").mock(side_effect=self._authed(self._open_orders))
        router.get(f"{base}/v2/orders:by_client_order_id").mock(
            side_effect=self._authed(self._by_client_id))
        router.delete(url__regex=rf"{base}/v2/orders/(?P<order_id>[0-9a-f-]+)$").mock(
            side_effect=self._authed(self._cancel))
        router.get(url__regex=rf"{base}/v2/assets/(?P<symbol>[A-Z.]+)$").mock(
            side_effect=self._authed(self._asset))
        router.get(f"{base}/v2/clock").mock(side_effect=self._authed(self._clock))
        router.get(f"{base}/v2/calendar").mock(side_effect=self._authed(self._calendar))
        return self

    def install_market_data(self, router: respx.MockRouter,
                            data_url: str = DATA_URL) -> FakeAlpaca:
        """Latest trades and bars (IEX feed) priced by the simulated market, in the Market Data
        API's shapes."""
        router.get(f"{data_url}/v2/stocks/trades/latest").mock(
            side_effect=self._authed(self._latest_trades))
        router.get(f"{data_url}/v2/stocks/bars").mock(side_effect=self._authed(self._bars))
        return self

    # ----------------------------------------------------------------- market data
    def _latest_trades(self, account: str, request: httpx.Request) -> dict[str, Any]:
        now = self.clock()
        return {"trades": {symbol: {"t": iso(now), "x": "V",
                                    "p": float(self.market.price(symbol, now)), "s": 100,
                                    "c": ["@"], "i": 1, "z": "C"}
                           for symbol in request.url.params["symbols"].split(",")}}

    def _bars(self, account: str, request: httpx.Request) -> dict[str, Any]:
        params = request.url.params
        start, end = (datetime.fromisoformat(params[k].replace("Z", "+00:00"))
                      for k in ("start", "end"))
        bars: dict[str, list[dict[str, Any]]] = {}
        for symbol in params["symbols"].split(","):
            bars[symbol] = []
            if params["timeframe"] == "1Day":
                day = start.astimezone(ET).date()
                while day <= end.astimezone(ET).date():
                    if session := self.market.session(day):
                        midnight = datetime.combine(day, datetime.min.time(), tzinfo=ET)
                        bars[symbol].append(self._bar(symbol, midnight, session.open,
                                                      session.close))
                    day += timedelta(days=1)
            else:  # 1Min: one bar a minute of the session, priced at its minute
                minute = start.replace(second=0, microsecond=0)
                while minute <= end:
                    session = self.market.session(minute.astimezone(ET).date())
                    if session and session.open <= minute < session.close:
                        bars[symbol].append(self._bar(symbol, minute, minute, minute))
                    minute += timedelta(minutes=1)
        return {"bars": bars, "next_page_token": None}

    def _bar(self, symbol: str, stamp: datetime, opening: datetime,
             closing: datetime) -> dict[str, Any]:
        first = float(self.market.price(symbol, opening))
        last = float(self.market.price(symbol, closing))
        return {"t": iso(stamp), "o": first, "h": max(first, last), "l": min(first, last),
                "c": last, "v": 1000, "n": 10, "vw": (first + last) / 2}

    # ----------------------------------------------------------------- plumbing
    def _authed(self, handler: Callable[..., Any]) -> Callable[..., httpx.Response]:
        def respond(request: httpx.Request, **path: str) -> httpx.Response:
            pair = (request.headers.get("APCA-API-KEY-ID", ""),
                    request.headers.get("APCA-API-SECRET-KEY", ""))
            if pair not in self._accounts:
                return httpx.Response(401, json=NOT_AUTHORIZED)
            try:
                result = handler(self._accounts[pair], request, **path)
            except BrokerRejected as rejected:
                return httpx.Response(rejected.status,
                                      json={"code": rejected.code, "message": rejected.message})
            return (result if isinstance(result, httpx.Response)
                    else httpx.Response(200, json=result))

        return respond

    # ----------------------------------------------------------------- trading
    def _account(self, account: str, request: httpx.Request) -> dict[str, Any]:
        state = self.broker.account(account)
        held = self.broker.positions(account)
        longs = sum((p.market_value for p in held if p.qty > 0), Decimal(0))
        shorts = sum((p.market_value for p in held if p.qty < 0), Decimal(0))
        return {
            "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"account://{account}")),
            "account_number": f"PA{account}", "status": "ACTIVE", "currency": "USD",
            "cash": str(state.cash), "equity": str(state.equity),
            "portfolio_value": str(state.equity), "buying_power": str(state.buying_power),
            "regt_buying_power": str(state.buying_power), "long_market_value": str(longs),
            "short_market_value": str(shorts), "multiplier": "2", "shorting_enabled": True,
            "trading_blocked": False, "transfers_blocked": False, "account_blocked": False,
        }

    def _positions(self, account: str, request: httpx.Request) -> list[dict[str, Any]]:
        pending = self.broker.open_orders(account)
        return [position_json(p, sum(o.qty - o.filled_qty for o in pending
                                     if o.symbol == p.symbol and (o.side == "sell") == (p.qty > 0)))
                for p in self.broker.positions(account)]

    def _submit(self, account: str, request: httpx.Request) -> dict[str, Any]:
        body = json.loads(request.content)
        kind = (body.get("type"), body.get("time_in_force"), body.get("order_class", "simple"))
        allowed = (("market", "day", "simple"), ("stop", "gtc", "simple"), ("market", "gtc", "oto"))
        if kind not in allowed or "notional" in body:
            raise BrokerRejected(422, 40010001, "this fake takes market day orders, gtc stops and"
                                                " market gtc oto orders by qty only")
        if (body.get("type") == "stop") != ("stop_price" in body):
            raise BrokerRejected(422, 40010001, "stop_price is required for stop orders only")
        if (kind[2] == "oto") != ("stop_price" in body.get("stop_loss", {})):
            raise BrokerRejected(422, 40010001, "an oto order here takes a stop_loss.stop_price")
        order = OrderRequest(symbol=body["symbol"], qty=int(body["qty"]), side=body["side"],
                             type=body["type"], time_in_force=body["time_in_force"],
                             stop_price=(Decimal(body["stop_price"]) if "stop_price" in body
                                         else None),
                             stop_loss=(Decimal(body["stop_loss"]["stop_price"])
                                        if kind[2] == "oto" else None),
                             client_order_id=body.get("client_order_id") or str(uuid.uuid4()))
        return order_json(self.broker.submit_order(account, order))

    def _open_orders(self, account: str, request: httpx.Request) -> list[dict[str, Any]]:
        assert request.url.params.get("status") == "open", "the fake lists open orders only"
        return [order_json(o) for o in self.broker.open_orders(account)]

    def _by_client_id(self, account: str, request: httpx.Request) -> dict[str, Any]:
        client_order_id = request.url.params["client_order_id"]
        order = self.broker.order_by_client_id(account, client_order_id)
        if order is None:
            raise BrokerRejected(404, 40410000, "order not found")
        return order_json(order)

    def _cancel(self, account: str, request: httpx.Request, order_id: str) -> httpx.Response:
        order = next((o for o in self.broker.orders(account) if o.id == order_id), None)
        if order is None:
            raise BrokerRejected(404, 40410000, "order not found")
        # its 422 "not open" is Alpaca's too
        self.broker.cancel_order(account, order.client_order_id)
        return httpx.Response(204)

    def _close_position(self, account: str, request: httpx.Request, symbol: str) -> dict[str, Any]:
        held = next((p for p in self.broker.positions(account) if p.symbol == symbol), None)
        if held is None:
            raise BrokerRejected(404, 40410000, "position not found")
        side = OrderSide.SELL if held.qty > 0 else OrderSide.BUY
        closing = OrderRequest(symbol=symbol, qty=abs(held.qty), side=side,
                               client_order_id=str(uuid.uuid4()))
        return order_json(self.broker.submit_order(account, closing))

    def _asset(self, account: str, request: httpx.Request, symbol: str) -> dict[str, Any]:
        info = self.broker.asset(account, symbol)
        return {
            "id": asset_id(symbol), "class": "us_equity", "exchange": "ARCA", "symbol": symbol,
            "name": symbol, "status": "active", "tradable": info.tradable, "marginable": True,
            "shortable": info.shortable, "fractionable": True,  # easy_to_borrow: removed 2026
            "borrow_status": "easy_to_borrow" if info.easy_to_borrow else "hard_to_borrow",
        }

    # ----------------------------------------------------------------- calendar
    def _clock(self, account: str, request: httpx.Request) -> dict[str, Any]:
        now = self.clock()
        today = self.market.session(now.astimezone(ET).date())
        is_open = bool(today and today.open <= now < today.close)
        next_open = self.market.next_open(now)
        if today and now < today.close:
            next_close = today.close
        else:  # the close of the session that opens next
            following = self.market.session(next_open.astimezone(ET).date())
            assert following is not None
            next_close = following.close
        return {"timestamp": now.isoformat(), "is_open": is_open,
                "next_open": next_open.isoformat(), "next_close": next_close.isoformat()}

    def _calendar(self, account: str, request: httpx.Request) -> list[dict[str, Any]]:
        start, end = (date.fromisoformat(request.url.params[k][:10]) for k in ("start", "end"))
        days = []
        day = start
        while day <= end:
            if session := self.market.session(day):
                settles = day + timedelta(days=1)
                while self.market.session(settles) is None:
                    settles += timedelta(days=1)
                days.append({"date": day.isoformat(), "open": f"{session.open:%H:%M}",
                             "close": f"{session.close:%H:%M}", "session_open": "0400",
                             "session_close": "2000", "settlement_date": settles.isoformat()})
            day += timedelta(days=1)
        return days
