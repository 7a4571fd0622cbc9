"""A simulated market: seeded price paths for the whole universe on the real NYSE calendar.

Every price is a pure function of (seed, symbol, moment), so any process (the CLI, a Lambda, a
test) sees the same market. The path is generated forward, day after day from EPOCH: each open is
the previous close times an overnight gap, then the price takes one seeded step a minute, and the
close is wherever the last step ends (never a target the path is drawn toward, so the move to noon
says nothing about the move after it). Each day's gap and steps come from one RNG seeded by (seed,
symbol, day). Outside a session the price is the previous close; at and after the close, the close.
A walk starts from the last close it knows before the day: a day walked already, a stored month end
(llmtrade/data/sim_closes.json, a cache of the walk from EPOCH for the default universe and seed)
or EPOCH's start price; either way the floats are those of the walk from EPOCH.

The calibration is the SLEEVES table, here rather than in config: it is the simulator's model, and
tests/unit/test_sim_market_statistics.py pins it to the bands below. Config holds what a run may
choose per asset: its drift (`drift_annual_pct`, default 0) and the hard-to-borrow list.
- `daily_vol`: close-to-close standard deviation of daily log returns.
- `overnight_share`: the part of that variance in the gap (previous close -> open); the rest is
  spread evenly over the 390 minutes of a regular session, so an early close (13:00) simply has
  fewer steps and less intraday variance. Target bands, from the ETFs' recent history: US equity
  ETFs 20-35 % (index futures trade overnight, but most of the variance is in the cash session);
  Treasury ETFs 30-50 % (futures trade around the clock and the 08:30 ET data releases land before
  the open); credit 25-45 % (follows rates and equities); the dollar, gold and oil 35-60 % (their
  futures or the London market trade through the US night: the ETF only catches up at the open).
- `half_spread_bps`: half the bid/ask spread in basis points of the mid (at least a cent): about
  the quoted spread of the sleeve's less liquid member, rounded up; buys fill at the ask, sells at
  the bid, positions are marked at the mid.
Drift: each step's log mean is its share of log(1 + drift) less half its variance, so the expected
price is a martingale at drift 0 (neither longs nor shorts win by construction).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import random
import threading
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from itertools import accumulate
from pathlib import Path

from llmtrade.config import AssetsConfig
from llmtrade.domain.calendar import ET, CalendarError, nyse_hours
from llmtrade.ports import Session

EPOCH = date(2024, 1, 2)  # first trading day the NYSE list covers
START_PRICE = {
    "SPY": 475.0, "QQQ": 405.0, "IWM": 200.0, "TLT": 98.0, "IEF": 95.0, "HYG": 77.0,
    "LQD": 110.0, "UUP": 28.5, "GLD": 190.0, "IAU": 39.0, "USO": 66.0, "BNO": 28.0,
}
REGULAR_SESSION_MINUTES = 390
TRADING_DAYS_PER_YEAR = 252
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Sleeve:
    daily_vol: float
    overnight_share: float
    half_spread_bps: float


SLEEVES: dict[str, Sleeve] = {
    "risk_on_equity": Sleeve(daily_vol=0.011, overnight_share=0.28, half_spread_bps=1.0),
    "duration": Sleeve(daily_vol=0.007, overnight_share=0.40, half_spread_bps=1.0),
    "credit": Sleeve(daily_vol=0.003, overnight_share=0.35, half_spread_bps=1.5),
    "usd": Sleeve(daily_vol=0.004, overnight_share=0.48, half_spread_bps=2.0),
    "gold": Sleeve(daily_vol=0.009, overnight_share=0.48, half_spread_bps=1.5),
    "oil": Sleeve(daily_vol=0.019, overnight_share=0.45, half_spread_bps=3.0),
}


@dataclass(frozen=True)
class _Steps:
    """One symbol's log-return distributions: the overnight gap and one intraday minute."""

    start: float
    gap_mean: float
    gap_sd: float
    minute_mean: float
    minute_sd: float

    @classmethod
    def of(cls, sleeve: Sleeve, start: float, drift_annual_pct: float) -> _Steps:
        daily_drift = math.log1p(drift_annual_pct / 100) / TRADING_DAYS_PER_YEAR
        gap_var = sleeve.daily_vol ** 2 * sleeve.overnight_share
        minute_var = sleeve.daily_vol ** 2 * (1 - sleeve.overnight_share) / REGULAR_SESSION_MINUTES
        minute_drift = daily_drift * (1 - sleeve.overnight_share) / REGULAR_SESSION_MINUTES
        return cls(start=start, gap_mean=daily_drift * sleeve.overnight_share - gap_var / 2,
                   gap_sd=math.sqrt(gap_var), minute_mean=minute_drift - minute_var / 2,
                   minute_sd=math.sqrt(minute_var))


_TWO_PI = 2.0 * math.pi  # random.gauss's own constant


def _normals(rng: random.Random, count: int) -> list[float]:
    """The first `count` draws `rng.gauss(0, 1)` gives from a fresh state, bit for bit: the same
    Box-Muller pairs of the same uniforms (cos first, then the sine it keeps for the next call),
    without a Python call per draw. A walk to today takes millions of them."""
    uniform, draws = rng.random, list[float]()
    for _ in range((count + 1) // 2):
        angle = uniform() * _TWO_PI
        radius = math.sqrt(-2.0 * math.log(1.0 - uniform()))
        draws += (math.cos(angle) * radius, math.sin(angle) * radius)
    return draws[:count]


def _draw_day(seed: int, symbol: str, day: date, minutes: int,
              steps: _Steps) -> tuple[float, list[float]]:
    """The day's overnight gap and its log path from the open, a point a minute (0 at the open):
    a gap then one step a minute, each `mean + z * sd` as `gauss` computes it, summed in order."""
    gap, *moves = _normals(random.Random(f"{seed}:{symbol}:{day.isoformat()}"), minutes + 1)
    mean, sd = steps.minute_mean, steps.minute_sd
    return (steps.gap_mean + gap * steps.gap_sd,
            list(accumulate((mean + z * sd for z in moves), initial=0.0)))


@functools.lru_cache(maxsize=512)
def _day_path(seed: int, symbol: str, day: date, minutes: int,
              steps: _Steps) -> tuple[float, tuple[float, ...]]:
    """`_draw_day`, kept for the minute prices of recent days (the walk needs only the close)."""
    gap, path = _draw_day(seed, symbol, day, minutes, steps)
    return gap, tuple(path)


def _session_minutes(day: date) -> int | None:
    hours = nyse_hours(day)
    return None if hours is None else int((hours[1] - hours[0]).total_seconds() // 60)


class _Walk:
    """One symbol's (open, close) per trading day, walked forward on demand from the last close
    known before the day: a day walked already, a stored month end (ANCHORS), or EPOCH's start."""

    def __init__(self, seed: int, symbol: str, steps: _Steps, anchored: bool = True) -> None:
        self.seed, self.symbol, self.steps = seed, symbol, steps
        self._days: dict[date, tuple[float, float]] = {}
        self._closes = dict(_anchors().get((seed, symbol, steps), {})) if anchored else {}
        self._lock = threading.Lock()

    def day(self, day: date) -> tuple[float, float]:
        with self._lock:
            if day not in self._days:
                self._walk_to(day)
            return self._days[day]

    def _walk_to(self, day: date) -> None:
        cursor = day - timedelta(days=1)
        while cursor >= EPOCH and cursor not in self._closes:
            cursor -= timedelta(days=1)
        close = self._closes.get(cursor, self.steps.start)
        while (cursor := cursor + timedelta(days=1)) <= day:
            if minutes := _session_minutes(cursor):
                gap, path = _draw_day(self.seed, self.symbol, cursor, minutes, self.steps)
                opening = close * math.exp(gap)
                close = opening * math.exp(path[-1])
                self._days[cursor] = (opening, close)
                self._closes[cursor] = close


# `python -m llmtrade.adapters.broker.sim_market` rewrites it (a path, not importlib.resources:
# that one's first use is ~3 ms of a cold start)
ANCHORS = Path(__file__).resolve().parents[2] / "data" / "sim_closes.json"
ANCHORS_UNTIL = date(2028, 12, 31)  # the NYSE holiday list's last year


@functools.cache
def _anchors() -> dict[tuple[int, str, _Steps], dict[date, float]]:
    """Stored month-end closes of the default walks (a cache: a walk from EPOCH gives the same
    floats, tests/unit/test_sim_market_draws.py checks it), keyed like the walks; a walk whose
    parameters differ (another seed, a drift) finds none and walks from EPOCH."""
    stored = json.loads(ANCHORS.read_text())
    return {(stored["seed"], symbol, _Steps(*entry["steps"])):
            {date.fromisoformat(d): close for d, close in entry["closes"].items()}
            for symbol, entry in stored["symbols"].items()}


def month_end_closes(assets: AssetsConfig, seed: int, until: date) -> dict[str, object]:
    """What ANCHORS holds: each month's last close up to `until`, walked from EPOCH without it."""
    last = until
    while not _session_minutes(last):
        last -= timedelta(days=1)
    symbols: dict[str, object] = {}
    for asset in assets.assets:
        steps = _Steps.of(SLEEVES[asset.sleeve], START_PRICE.get(asset.symbol, 50.0),
                          asset.drift_annual_pct)
        walk = _Walk(seed, asset.symbol, steps, anchored=False)
        walk.day(last)
        ends = {(d.year, d.month): d for d in sorted(walk._days)}
        symbols[asset.symbol] = {"steps": list(dataclasses.astuple(steps)), "closes": {
            d.isoformat(): walk._days[d][1] for d in ends.values()}}
    return {"seed": seed, "symbols": symbols}


# Walks are pure functions of their key, so every market of the process shares them: a new market
# (a test, a Lambda's warm start) does not walk from EPOCH again.
_WALKS: dict[tuple[int, str, _Steps], _Walk] = {}
_WALKS_LOCK = threading.Lock()


def _walk(seed: int, symbol: str, steps: _Steps) -> _Walk:
    with _WALKS_LOCK:
        return _WALKS.setdefault((seed, symbol, steps), _Walk(seed, symbol, steps))


class SimMarket:
    def __init__(self, assets: AssetsConfig, seed: int = 7) -> None:
        self.symbols = assets.symbols
        self._seed = seed
        self._steps = {a.symbol: _Steps.of(SLEEVES[a.sleeve], START_PRICE.get(a.symbol, 50.0),
                                           a.drift_annual_pct) for a in assets.assets}
        self._walks = {s: _walk(seed, s, steps) for s, steps in self._steps.items()}
        self._half_spread = {a.symbol: Decimal(str(SLEEVES[a.sleeve].half_spread_bps)) / 10_000
                             for a in assets.assets}

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
        """The mid."""
        if symbol not in self._walks:
            raise KeyError(f"{symbol} is not in the simulated universe")
        at = at.astimezone(ET)
        day = at.date()
        if at < datetime(EPOCH.year, EPOCH.month, EPOCH.day, 9, 30, tzinfo=ET):
            raise CalendarError(f"{at:%Y-%m-%d %H:%M}: the simulated market starts on {EPOCH}")
        session = self.session(day)
        if session is None or at < session.open:
            return self._money(self._close_before(symbol, day))
        opening, closing = self._walks[symbol].day(day)
        if at >= session.close:
            return self._money(closing)
        minutes = int((session.close - session.open).total_seconds() // 60)
        _, path = _day_path(self._seed, symbol, day, minutes, self._steps[symbol])
        return self._money(opening * math.exp(path[int((at - session.open).total_seconds() // 60)]))

    def quote(self, symbol: str, at: datetime) -> tuple[Decimal, Decimal]:
        """(bid, ask): the mid less and plus the sleeve's half-spread, at least a cent each."""
        mid = self.price(symbol, at)
        half = max(CENT, (mid * self._half_spread[symbol]).quantize(CENT, ROUND_HALF_UP))
        return mid - half, mid + half

    def _close_before(self, symbol: str, day: date) -> float:
        previous = day - timedelta(days=1)
        while previous >= EPOCH:
            if self.session(previous):
                return self._walks[symbol].day(previous)[1]
            previous -= timedelta(days=1)
        return self._steps[symbol].start

    @staticmethod
    def _money(value: float) -> Decimal:
        return Decimal(str(round(value, 2)))


if __name__ == "__main__":  # rewrites ANCHORS (after a change of SLEEVES, START_PRICE or the walk)
    from llmtrade.config import load_settings

    anchors = month_end_closes(load_settings().assets, 7, ANCHORS_UNTIL)
    ANCHORS.write_text(json.dumps(anchors, indent=1) + "\n")
