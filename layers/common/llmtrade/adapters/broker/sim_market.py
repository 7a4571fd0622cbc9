"""A simulated market: seeded price paths for the whole universe on the real NYSE calendar.

Every price is a pure function of (seed, symbol, moment), so any process — the CLI, a Lambda, a
test — sees the same market. Daily closes are a random walk with a per-sleeve volatility; inside a
session the price moves from the open to the close along a seeded path.
"""

from __future__ import annotations

import math
import random
import threading
from datetime import date, datetime, timedelta
from decimal import Decimal

from llmtrade.config import AssetsConfig
from llmtrade.domain.calendar import ET, CalendarError, nyse_hours
from llmtrade.ports import Session

EPOCH = date(2024, 1, 2)  # first trading day the NYSE list covers
START_PRICE = {
    "SPY": 475.0, "QQQ": 405.0, "IWM": 200.0, "TLT": 98.0, "IEF": 95.0, "HYG": 77.0,
    "LQD": 110.0, "UUP": 28.5, "GLD": 190.0, "IAU": 39.0, "USO": 66.0, "BNO": 28.0,
}
DAILY_VOL = {"risk_on_equity": 0.011, "duration": 0.007, "credit": 0.003, "usd": 0.004,
             "gold": 0.009, "oil": 0.019}
DRIFT = 0.0002


class SimMarket:
    def __init__(self, assets: AssetsConfig, seed: int = 7) -> None:
        self.symbols = assets.symbols
        self._vol = {a.symbol: DAILY_VOL[a.sleeve] for a in assets.assets}
        self._seed = seed
        # per symbol: trading day → (open, close), filled forward from EPOCH on demand
        self._days: dict[str, dict[date, tuple[float, float]]] = {s: {} for s in self.symbols}
        self._last: dict[str, tuple[date, float]] = {
            s: (EPOCH - timedelta(days=1), START_PRICE.get(s, 50.0)) for s in self.symbols}
        self._lock = threading.Lock()

    # ----------------------------------------------------------------- calendar
    def session(self, day: date) -> Session | None:
        hours = nyse_hours(day)
        return Session(day=day, open=hours[0], close=hours[1]) if hours else None

    def next_open(self, after: datetime) -> datetime:
        day = after.astimezone(ET).date()
        while True:
            hours = nyse_hours(day)
            if hours and hours[0] >= after:
                return hours[0]
            day += timedelta(days=1)

    # ----------------------------------------------------------------- prices
    def price(self, symbol: str, at: datetime) -> Decimal:
        if symbol not in self._days:
            raise KeyError(f"{symbol} is not in the simulated universe")
        at = at.astimezone(ET)
        day = at.date()
        if at < datetime(EPOCH.year, EPOCH.month, EPOCH.day, 9, 30, tzinfo=ET):
            raise CalendarError(f"{at:%Y-%m-%d %H:%M}: the simulated market starts on {EPOCH}")
        session = self.session(day)
        if session is None or at < session.open:
            return self._money(self._close_before(symbol, day))
        opening, closing = self._day(symbol, day)
        if at >= session.close:
            return self._money(closing)
        progress = (at - session.open) / (session.close - session.open)
        wiggle = (random.Random(f"{self._seed}:{symbol}:{at:%Y%m%d%H%M}")
                  .gauss(0, self._vol[symbol] / 8))
        log_price = math.log(opening) + (math.log(closing) - math.log(opening)) * progress + wiggle
        return self._money(math.exp(log_price))

    def _close_before(self, symbol: str, day: date) -> float:
        previous = day - timedelta(days=1)
        while previous >= EPOCH:
            if self.session(previous):
                return self._day(symbol, previous)[1]
            previous -= timedelta(days=1)
        return START_PRICE.get(symbol, 50.0)

    def _day(self, symbol: str, day: date) -> tuple[float, float]:
        with self._lock:
            return self._extend_to(symbol, day)

    def _extend_to(self, symbol: str, day: date) -> tuple[float, float]:
        days = self._days[symbol]
        last_day, last_close = self._last[symbol]
        cursor = last_day + timedelta(days=1)
        while cursor <= day:
            if self.session(cursor):
                rng = random.Random(f"{self._seed}:{symbol}:{cursor.isoformat()}")
                vol = self._vol[symbol]
                opening = last_close * math.exp(rng.gauss(0, vol / 3))
                last_close = opening * math.exp(rng.gauss(DRIFT, vol))
                days[cursor] = (opening, last_close)
                self._last[symbol] = (cursor, last_close)
            cursor += timedelta(days=1)
        return days[day]

    @staticmethod
    def _money(value: float) -> Decimal:
        return Decimal(str(round(value, 2)))
