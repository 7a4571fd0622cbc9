"""Alpaca paper trading and market data over HTTP: the live twins of SimBroker and SimMarket.

Shapes follow Alpaca's published OpenAPI specs (Trading API v2, Market Data API v2). Every number
Alpaca sends is parsed with Decimal: the trading API sends strings, the data API JSON numbers
(parsed straight to Decimal, never through float).

Retry rules (`RETRY`: the shared http_retry policy, Alpaca's statuses 429 and every 5xx, not 408):
- 429 is retried after the wait the rate-limit headers ask for (Retry-After, else
  X-RateLimit-Reset), bounded;
- timeouts and 5xx are retried with a short backoff for reads and cancels, but a submitted order
  is never resent blindly: its client_order_id is looked up first, so one decision never makes
  two orders;
- 403/404/422 are the broker's answer (`BrokerRejected`), never retried; 401 names the key.

Bodies are checked before use (alpaca_bodies.py); bar pagination ends on a repeated
`next_page_token` or after `MAX_BAR_PAGES` pages; `GET /v2/calendar` sends start/end as date-times.
Orders are market `day` orders, protective `stop` orders (`gtc`, with a `stop_price`) and entries
with their stop attached (`order_class: oto`, `stop_loss: {stop_price}`; the stop leg, named by
Alpaca, comes back in `legs`); Alpaca answers a market order `new`/`accepted` before it fills:
the caller polls `order_by_client_id`.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from decimal import Decimal
from typing import Any

import httpx

from llmtrade.adapters.broker.alpaca_bodies import (
    AlpacaError as AlpacaError,  # raised to callers: theirs to import from here
)
from llmtrade.adapters.broker.alpaca_bodies import (
    MarketClock,
    calendar_session,
    decimal_json,
    parse_order,
    parse_position,
    parsed,
    shaped,
)
from llmtrade.adapters.http_retry import (
    RATE_LIMITED,
    SERVER_ERRORS,
    RetryPolicy,
    remember_secrets,
    scrub,
)
from llmtrade.adapters.http_tls import tls_context
from llmtrade.domain.calendar import ET
from llmtrade.ports import BrokerRejected, Session
from llmtrade.schemas import AccountState, AssetInfo, BrokerOrder, OrderRequest, Position

# the longest a single rate-limit or backoff wait may take is 30 s; no total bound (a weekly step
# makes a handful of calls per account, and each is bounded by its attempts)
RETRY = RetryPolicy(statuses=frozenset({RATE_LIMITED}) | SERVER_ERRORS, max_attempts=4,
                    backoff_s=0.5, backoff_cap_s=30.0, server_wait_cap_s=30.0,
                    rate_limit_reset=True)
# "now" for price(): closer than this reads the latest trade
LATEST_TRADE_WINDOW = timedelta(minutes=2)
CALENDAR_LOOKBACK_DAYS = 10  # enough to cross the longest run of closed days (weekend + holidays)
# one request asks for up to 10,000 bars of one symbol: a week of minute bars is a page or two
MAX_BAR_PAGES = 50


class _Uncertain(Exception):
    """A request whose outcome is unknown (timeout, 5xx): it may or may not have taken effect."""


class AlpacaBroker:
    """The Broker port on Alpaca's Trading API; each account has its own key pair."""

    def __init__(self, base_url: str, credentials: Mapping[str, tuple[str, str]], *,
                 key_envs: Mapping[str, str] | None = None, timeout: float = 10.0,
                 max_attempts: int = 4, sleep: Callable[[float], None] = time.sleep,
                 wall_clock: Callable[[], float] = time.time) -> None:
        """`key_envs`: each account's key env prefix (accounts.yaml `key_env`), for messages."""
        self._credentials = dict(credentials)
        remember_secrets(*(value for pair in self._credentials.values() for value in pair))
        self._key_envs = dict(key_envs or {})
        self._client = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout,
                                    verify=tls_context())
        self._retry = dataclasses.replace(RETRY, max_attempts=max_attempts)
        self._sleep = sleep
        self._wall_clock = wall_clock

    # ----------------------------------------------------------------- HTTP
    def _headers(self, account_id: str) -> dict[str, str]:
        if account_id not in self._credentials:
            known = ", ".join(sorted(self._credentials)) or "none"
            raise AlpacaError(f"no Alpaca keys for account {account_id!r}"
                              f" (accounts with keys: {known})")
        key_id, secret_key = self._credentials[account_id]
        return {"APCA-API-KEY-ID": key_id, "APCA-API-SECRET-KEY": secret_key}

    def default_account(self) -> str:
        if not self._credentials:
            raise AlpacaError("no Alpaca keys configured for any account")
        return next(iter(self._credentials))

    def request(self, account_id: str, method: str, url: str, *,
                params: Mapping[str, str] | None = None, body: Mapping[str, Any] | None = None,
                safe_to_repeat: bool = True) -> httpx.Response:
        """One call with the account's keys.

        `url` is a path on base_url or an absolute URL (market data). Raises BrokerRejected for
        Alpaca's refusals (4xx with its {code, message} body), AlpacaError for bad keys or
        exhausted retries, and _Uncertain on a timeout/5xx when `safe_to_repeat` is False."""
        headers = self._headers(account_id)
        retry = self._retry
        for attempt in range(1, retry.max_attempts + 1):
            try:
                response = self._client.request(method, url, params=params, json=body,
                                                headers=headers)
            except httpx.TransportError as exc:
                if not safe_to_repeat:
                    raise _Uncertain(f"{method} {url}: {type(exc).__name__}") from exc
                if retry.last(attempt):
                    raise AlpacaError(f"Alpaca {method} {url} failed {attempt} times:"
                                      f" {type(exc).__name__}") from exc
                self._sleep(retry.backoff(attempt))
                continue
            status = response.status_code
            if status < 400:
                return response
            if status == 401:
                raise AlpacaError(f"Alpaca refused the keys of account {account_id!r} (401): "
                                  f"{self._key_hint(account_id)}")
            if not retry.retries(status):
                raise self._rejection(response)
            # a rate-limited request was not taken in
            if status != RATE_LIMITED and not safe_to_repeat:
                raise _Uncertain(f"{method} {url}: HTTP {status}")
            if retry.last(attempt):
                raise AlpacaError(f"Alpaca rate limit: {method} {url} still refused"
                                  f" after {attempt} attempts"
                                  if status == RATE_LIMITED else
                                  f"Alpaca {method} {url} answered {status} {attempt} times:"
                                  f" {response.text[:200]}")
            self._sleep(retry.wait(attempt, status, response.headers, self._wall_clock()))
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _key_hint(self, account_id: str) -> str:
        env = self._key_envs.get(account_id)
        names = f"{env}_KEY_ID / {env}_SECRET_KEY" if env else "its key pair"
        return f"check {names} (a reset paper account gets new keys)"

    @staticmethod
    def _rejection(response: httpx.Response) -> BrokerRejected:
        try:
            body = response.json()
            return BrokerRejected(response.status_code, int(body.get("code", 0)),
                                  scrub(str(body.get("message", ""))))
        except (ValueError, TypeError, AttributeError):
            return BrokerRejected(response.status_code, 0, scrub(response.text[:200]))

    def _get(self, account_id: str, url: str, **params: str) -> Any:
        return decimal_json(self.request(account_id, "GET", url, params=params or None))

    # ----------------------------------------------------------------- reads
    def account(self, account_id: str) -> AccountState:
        return parsed(lambda data: AccountState(equity=Decimal(data["equity"]),
                                                 cash=Decimal(data["cash"]),
                                                 buying_power=Decimal(data["buying_power"])),
                       self._get(account_id, "/v2/account"), "account")

    def positions(self, account_id: str) -> list[Position]:
        return [parse_position(p)
                for p in shaped(self._get(account_id, "/v2/positions"), list, "positions")]

    def order_by_client_id(self, account_id: str, client_order_id: str) -> BrokerOrder | None:
        try:
            return parse_order(self._get(account_id, "/v2/orders:by_client_order_id",
                                         client_order_id=client_order_id))
        except BrokerRejected as rejected:
            if rejected.status == 404:
                return None
            raise

    def open_orders(self, account_id: str) -> list[BrokerOrder]:
        # limit 500 is the API's maximum; an account here holds a handful of open orders at most
        orders = self._get(account_id, "/v2/orders", status="open", limit="500")
        return [parse_order(o) for o in shaped(orders, list, "open orders")]

    def asset(self, account_id: str, symbol: str) -> AssetInfo:
        # borrow_status replaced easy_to_borrow (removed 2026-09-22); absent for non-US equities,
        # which are then not easy to borrow
        return parsed(lambda data: AssetInfo(
            symbol=data["symbol"], tradable=data["tradable"] is True,
            shortable=data["shortable"] is True,
            easy_to_borrow=data.get("borrow_status") == "easy_to_borrow"),
            self._get(account_id, f"/v2/assets/{symbol}"), f"asset {symbol}")

    def clock(self, account_id: str | None = None) -> MarketClock:
        data = self._get(account_id or self.default_account(), "/v2/clock")
        try:
            return MarketClock.model_validate(shaped(data, dict, "clock"))
        except ValueError as exc:  # pydantic's ValidationError
            raise AlpacaError(f"Alpaca's clock cannot be read: {exc}") from exc

    def calendar(self, start: date, end: date, account_id: str | None = None) -> list[Session]:
        """Trading days from start to end inclusive.

        Holidays are absent, early closes end at 13:00 ET. start/end go as date-times (the spec's
        format): midnight New York time, which is the same calendar day in ET and in UTC."""
        days = self._get(account_id or self.default_account(), "/v2/calendar",
                         start=datetime.combine(start, clock_time(), tzinfo=ET).isoformat(),
                         end=datetime.combine(end, clock_time(), tzinfo=ET).isoformat())
        return [parsed(calendar_session, entry, "calendar day")
                for entry in shaped(days, list, "calendar")]

    # ----------------------------------------------------------------- writes
    def submit_order(self, account_id: str, order: OrderRequest) -> BrokerOrder:
        body: dict[str, Any] = {
            "symbol": order.symbol, "qty": str(order.qty), "side": order.side.value,
            "type": order.type, "time_in_force": order.time_in_force,
            "client_order_id": order.client_order_id}
        if order.stop_price is not None:
            # a protective `stop` (gtc): the spec's stop_price, a string, "required if type is stop"
            body["stop_price"] = str(order.stop_price)
        if order.stop_loss is not None:
            # one-triggers-other: the stop leg is held until the entry fills, then rests
            body["order_class"] = "oto"
            body["stop_loss"] = {"stop_price": str(order.stop_loss)}
        for attempt in range(1, self._retry.max_attempts + 1):
            try:
                response = self.request(account_id, "POST", "/v2/orders", body=body,
                                        safe_to_repeat=False)
                return parse_order(decimal_json(response))
            except _Uncertain as exc:
                # the order may exist: find it by our id before sending it again
                if placed := self.order_by_client_id(account_id, order.client_order_id):
                    return placed
                if self._retry.last(attempt):
                    raise AlpacaError(f"order {order.client_order_id} for {account_id}:"
                                      f" no answer after {attempt} attempts"
                                      f" and not found at Alpaca ({exc})") from exc
                self._sleep(self._retry.backoff(attempt))
            except BrokerRejected as rejected:
                # a resend refused as a duplicate means an earlier attempt landed: the order is ours
                duplicate = (attempt > 1 and rejected.status == 422
                             and "client_order_id" in rejected.message)
                if duplicate and (placed := self.order_by_client_id(account_id,
                                                                    order.client_order_id)):
                    return placed
                raise
        raise AssertionError("unreachable: the last attempt returns or raises")

    def cancel_order(self, account_id: str, client_order_id: str) -> None:
        order = self.order_by_client_id(account_id, client_order_id)
        if order is None:
            raise BrokerRejected(404, 40410000, f"order {client_order_id} not found")
        self.request(account_id, "DELETE", f"/v2/orders/{order.id}")

    def close_position(self, account_id: str, symbol: str) -> BrokerOrder:
        """Close the whole position with a market order; Alpaca answers with that closing order."""
        try:
            response = self.request(account_id, "DELETE", f"/v2/positions/{symbol}",
                                    safe_to_repeat=False)
        except _Uncertain as exc:
            # a closing order may exist: resending could be refused or close twice
            raise AlpacaError(f"closing {symbol} for {account_id}: no answer ({exc}); "
                              "check its open orders before trying again") from exc
        return parse_order(decimal_json(response))

    def close(self) -> None:
        self._client.close()


class AlpacaMarketData:
    """The MarketData port on Alpaca's Market Data API v2 (IEX feed for free plans), with the
    trading calendar from the Trading API. Requests use the keys of one trading account."""

    def __init__(self, data_url: str, trading: AlpacaBroker, symbols: list[str], *,
                 feed: str = "iex", account_id: str | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.symbols = list(symbols)
        self._data_url = data_url.rstrip("/")
        self._trading = trading
        self._account = account_id
        self._feed = feed
        self._now = clock
        self._sessions: dict[date, Session | None] = {}  # every day of each month fetched

    # ----------------------------------------------------------------- calendar
    def session(self, day: date) -> Session | None:
        if day not in self._sessions:
            first = day.replace(day=1)
            last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
            found = {s.day: s for s in self._trading.calendar(first, last, self._account)}
            for offset in range((last - first).days + 1):
                self._sessions[first + timedelta(days=offset)] = found.get(
                    first + timedelta(days=offset))
        return self._sessions[day]

    def next_open(self, after: datetime) -> datetime:
        day = after.astimezone(ET).date()
        for _ in range(CALENDAR_LOOKBACK_DAYS + 1):
            session = self.session(day)
            if session and session.open >= after:
                return session.open
            day += timedelta(days=1)
        raise AlpacaError(f"no market open within {CALENDAR_LOOKBACK_DAYS} days"
                          f" after {after.isoformat()}")

    def _last_session_closed_by(self, at: datetime) -> Session:
        day = at.astimezone(ET).date()
        for _ in range(CALENDAR_LOOKBACK_DAYS + 1):
            session = self.session(day)
            if session and session.close <= at:
                return session
            day -= timedelta(days=1)
        raise AlpacaError(f"no market session within {CALENDAR_LOOKBACK_DAYS} days"
                          f" before {at.isoformat()}")

    # ----------------------------------------------------------------- prices
    def price(self, symbol: str, at: datetime) -> Decimal:
        """Last trade price at `at`; while the market is closed, the previous session's close."""
        if symbol not in self.symbols:
            raise KeyError(f"{symbol} is not in the universe")
        session = self.session(at.astimezone(ET).date())
        if session is None or not session.open <= at < session.close:
            return self._daily_close(symbol, self._last_session_closed_by(at))
        if self._now() - at <= LATEST_TRADE_WINDOW:
            latest = shaped(self._data("/v2/stocks/trades/latest", symbols=symbol,
                                        feed=self._feed), dict, "latest trades")
            trades = shaped(latest.get("trades") or {}, dict, "latest trades")
            if symbol not in trades:
                raise AlpacaError(f"no latest {self._feed} trade for {symbol}")
            return parsed(lambda trade: Decimal(trade["p"]), trades[symbol],
                           f"latest trade of {symbol}")
        minute_bars = self._bars(symbol, "1Min", session.open, at)
        if minute_bars:
            return parsed(lambda bar: Decimal(bar["c"]), minute_bars[-1], f"bar of {symbol}")
        # no IEX trade yet this session: the previous close still stands
        return self._daily_close(symbol, self._last_session_closed_by(session.open))

    def _daily_close(self, symbol: str, session: Session) -> Decimal:
        # daily bars are stamped 00:00 ET
        midnight = datetime.combine(session.day, datetime.min.time(), tzinfo=ET)
        daily = self._bars(symbol, "1Day", midnight, session.close)
        bars = [b for b in daily if parsed(lambda bar: datetime.fromisoformat(bar["t"]), b,
                                            f"bar of {symbol}").astimezone(ET).date()
                == session.day]
        if not bars:
            raise AlpacaError(f"no daily bar for {symbol} on {session.day} (feed {self._feed})")
        return parsed(lambda bar: Decimal(bar["c"]), bars[-1], f"bar of {symbol}")

    def _bars(self, symbol: str, timeframe: str, start: datetime,
              end: datetime) -> list[dict[str, Any]]:
        """All bars of one symbol from start to end inclusive, following next_page_token: at most
        MAX_BAR_PAGES pages, and a token seen before is an error (a server repeating it would
        otherwise be asked forever)."""
        params = {"symbols": symbol, "timeframe": timeframe,
                  "start": start.astimezone(UTC).isoformat(),
                  "end": end.astimezone(UTC).isoformat(), "feed": self._feed, "limit": "10000"}
        bars: list[dict[str, Any]] = []
        seen: set[str] = set()
        for _ in range(MAX_BAR_PAGES):
            page = shaped(self._data("/v2/stocks/bars", **params), dict, "bars page")
            by_symbol = shaped(page.get("bars") or {}, dict, "bars")
            bars += shaped(by_symbol.get(symbol) or [], list, f"bars of {symbol}")
            token = page.get("next_page_token")
            if not token:
                return bars
            if str(token) in seen:
                raise AlpacaError(f"Alpaca repeated the bars page token {str(token)[:40]!r} for"
                                  f" {symbol} {timeframe}: stopped after {len(seen) + 1} pages")
            seen.add(str(token))
            params["page_token"] = str(token)
        raise AlpacaError(f"Alpaca's {timeframe} bars of {symbol} from {start.isoformat()} to"
                          f" {end.isoformat()} did not end within {MAX_BAR_PAGES} pages")

    def _data(self, path: str, **params: str) -> Any:
        account = self._account or self._trading.default_account()
        try:
            return decimal_json(self._trading.request(account, "GET", self._data_url + path,
                                                       params=params))
        except BrokerRejected as refused:
            # e.g. 403 for recent SIP data on a free plan: configuration, not an order refusal
            raise AlpacaError(f"Alpaca market data refused {path} ({refused});"
                              f" feed is {self._feed!r}") from refused
