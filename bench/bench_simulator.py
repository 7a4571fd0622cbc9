"""Figures, not tests: what the simulated market looks like, statistically.

Over the first N trading days of the simulated market (all symbols of config/assets.yaml):
- corr(previous close -> t, t -> close) of log returns at 10:00, 12:00 and 14:00 ET, pooled over the
  symbols (each standardized by its own volatility; about 0 in real markets: a move to noon does not
  predict the move after it); days that close before t are left out;
- the overnight share of close-to-close variance (var(open / previous close) / var(close /
  previous close)) per sleeve;
- annualized drift (mean daily simple return x 252) and volatility (std of daily log returns x
  sqrt 252) per symbol;
- the average cost of a round trip through the simulated broker (buy then sell 100 shares at the
  same moment), in basis points of the mid.
Run: python bench/bench_simulator.py [--days 480] [--seed 7]
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import tempfile
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from llmtrade.adapters.broker.ledger_sqlite import SqliteOrderLedger
from llmtrade.adapters.broker.sim_broker import SimBroker
from llmtrade.adapters.broker.sim_market import EPOCH, SimMarket
from llmtrade.config import load_settings
from llmtrade.domain.calendar import ET
from llmtrade.schemas import OrderRequest, OrderSide

MOMENTS = (time(10), time(12), time(14))


def trading_days(market: SimMarket, count: int) -> list[date]:
    days, day = [], EPOCH
    while len(days) < count:
        if market.session(day):
            days.append(day)
        day += timedelta(days=1)
    return days


def day_returns(market: SimMarket, symbol: str, days: list[date]) -> list[dict[str, float]]:
    """Per day: log returns previous close -> open, -> each moment before the close, -> close."""
    rows = []
    for day in days[1:]:
        session = market.session(day)
        assert session is not None
        before = float(market.price(symbol, session.open - timedelta(minutes=1)))
        row = {"open": math.log(float(market.price(symbol, session.open)) / before),
               "close": math.log(float(market.price(symbol, session.close)) / before)}
        for moment in MOMENTS:
            at = datetime.combine(day, moment, tzinfo=ET)
            if at < session.close:
                price = float(market.price(symbol, at))
                row[moment.isoformat("minutes")] = math.log(price / before)
        rows.append(row)
    return rows


def pooled_correlation(returns: dict[str, list[dict[str, float]]], key: str) -> tuple[float, int]:
    before, after = [], []
    for rows in returns.values():
        vol = statistics.pstdev(r["close"] for r in rows)
        for r in rows:
            if key in r:
                before.append(r[key] / vol)
                after.append((r["close"] - r[key]) / vol)
    return statistics.correlation(before, after), len(before)


def round_trip_bps(market: SimMarket, symbol: str, at: datetime, ledger_dir: Path) -> float:
    ledger = SqliteOrderLedger(ledger_dir / f"{symbol}.sqlite")
    broker = SimBroker(market, ledger, starting_equity=1_000_000, min_equity_for_short=2000,
                       clock=lambda: at)
    for side in (OrderSide.BUY, OrderSide.SELL):
        broker.submit_order("bench", OrderRequest(symbol=symbol, qty=100, side=side,
                                                  client_order_id=f"bench-{symbol}-{side}"))
    mid = float(market.price(symbol, at))
    loss = 1_000_000 - float(broker.account("bench").equity)
    return loss / (100 * mid) * 10_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=480)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    assets = load_settings().assets
    market = SimMarket(assets, seed=args.seed)
    days = trading_days(market, args.days + 1)
    returns = {a.symbol: day_returns(market, a.symbol, days) for a in assets.assets}
    print(f"simulated market, seed {args.seed}: {args.days} trading days from {days[1]} to "
          f"{days[-1]}, {len(returns)} symbols")

    print("\ncorr(previous close -> t, t -> close), pooled over the symbols:")
    for moment in MOMENTS:
        corr, n = pooled_correlation(returns, moment.isoformat("minutes"))
        print(f"  {moment:%H:%M}  {corr:+.3f}  (n={n})")

    print("\novernight share of close-to-close variance, per sleeve:")
    by_sleeve: dict[str, list[str]] = defaultdict(list)
    for asset in assets.assets:
        by_sleeve[asset.sleeve].append(asset.symbol)
    for sleeve, symbols in by_sleeve.items():
        gaps = sum(statistics.pvariance([r["open"] for r in returns[s]]) for s in symbols)
        total = sum(statistics.pvariance([r["close"] for r in returns[s]]) for s in symbols)
        print(f"  {sleeve:<15} {gaps / total:6.1%}  ({', '.join(symbols)})")

    print("\nper symbol: annualized drift and vol, corr at 12:00, round trip at 12:00 on day 7")
    day7_noon = datetime.combine(days[7], time(12), tzinfo=ET)
    with tempfile.TemporaryDirectory() as ledger_dir:
        for symbol, rows in returns.items():
            simple = [math.exp(r["close"]) - 1 for r in rows]
            drift = statistics.fmean(simple) * 252
            vol = statistics.pstdev(r["close"] for r in rows) * math.sqrt(252)
            noon = [(r["12:00"], r["close"] - r["12:00"]) for r in rows if "12:00" in r]
            noon_corr = statistics.correlation(*zip(*noon, strict=True))
            cost = round_trip_bps(market, symbol, day7_noon, Path(ledger_dir))
            print(f"  {symbol:<4} drift {drift:+7.1%}/yr  vol {vol:6.1%}/yr  "
                  f"corr12 {noon_corr:+.3f}  round trip {cost:5.1f} bps")


if __name__ == "__main__":
    main()
