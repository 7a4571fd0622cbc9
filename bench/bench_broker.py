"""Figures, not tests: the simulated broker's throughput as its order ledger grows.

One account trades through the simulated broker as the steps do: every order is submitted, then
read back by its client_order_id; the clock moves a minute per order through the sessions. Eight
symbols rotate: a buy is sold at the symbol's next turn; every fifth buy carries an attached stop
(`oto`) that rests below the price and is cancelled before the sell; three positions are held
throughout under resting stops; an order placed after the close is cancelled before it can fill.
Printed: orders/s over the orders just before the 50th, 200th and 1,000th (the marginal rate: what
one more order costs at that ledger size) and the ratio 1,000 / 50 (target: >= 0.8, O(1) per
order), for the SQLite ledger (one broker kept, and a new broker per order over the same ledger
object, as the offline run makes one per step and moment) and, with --dynamodb, the DynamoDB
ledger under moto (with its read and write units per order).
Run: python bench/bench_broker.py [--orders 1000] [--runs 3] [--dynamodb]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from llmtrade.adapters.broker.ledger_sqlite import SqliteOrderLedger
from llmtrade.adapters.broker.sim_broker import SimBroker
from llmtrade.adapters.broker.sim_market import EPOCH, SimMarket
from llmtrade.config import load_settings
from llmtrade.ports import BrokerRejected, OrderLedger
from llmtrade.schemas import OrderRequest, OrderSide

MARKS = (50, 200, 1000)
WINDOW = 50  # orders per marginal rate


class Clock:
    def __init__(self) -> None:
        self.now = datetime.min

    def __call__(self) -> datetime:
        return self.now


def moments(market: SimMarket) -> Iterator[tuple[datetime, bool]]:
    """A minute at a time through the sessions from the epoch, each day's last one after the
    close (True: the market is open)."""
    day = EPOCH + timedelta(days=7)
    while True:
        session = market.session(day)
        if session is not None:
            moment = session.open + timedelta(minutes=1)
            while moment < session.close - timedelta(minutes=1):
                yield moment, True
                moment += timedelta(minutes=1)
            yield session.close + timedelta(minutes=30), False
        day = date.fromordinal(day.toordinal() + 1)


def trade(broker_now: Callable[[], SimBroker], clock: Clock, market: SimMarket, count: int,
          at_order: Callable[[int], None]) -> list[float]:
    """Submits `count` orders, each through `broker_now()`; the time each took (with its read
    back, and the cancel of a stop before a sell)."""
    symbols = sorted(market.symbols)
    rotating, held_long = symbols[:8], symbols[8:11]
    held: dict[str, tuple[int, str | None]] = {}  # symbol -> (qty, its stop leg)
    times = []
    clock_moments = moments(market)
    for i in range(count):
        clock.now, is_open = next(clock_moments)
        symbol = held_long[i] if i < len(held_long) else rotating[i % len(rotating)]
        cid = f"bench-{i}"
        started = time.perf_counter()
        broker = broker_now()
        try:
            if symbol in held:  # sell what the last buy bought, its stop cancelled first
                qty, leg = held.pop(symbol)
                if leg is not None:
                    broker.cancel_order("bench", leg)
                request = OrderRequest(symbol=symbol, qty=qty, side=OrderSide.SELL,
                                       client_order_id=cid)
            else:  # a buy, every fifth one (and each long hold) protected by a resting stop
                stop = None
                if i % 5 == 0 or symbol in held_long:
                    price = market.price(symbol, clock.now)
                    stop = (price * Decimal("0.5")).quantize(Decimal("0.01"))
                request = OrderRequest(symbol=symbol, qty=1 + i % 5, side=OrderSide.BUY,
                                       client_order_id=cid, stop_loss=stop,
                                       time_in_force="gtc" if stop else "day")
            placed = broker.submit_order("bench", request)
            read = broker.order_by_client_id("bench", cid)
            if not is_open and read is not None and read.is_open:
                broker.cancel_order("bench", cid)
            elif request.side is OrderSide.BUY and symbol not in held_long:
                held[symbol] = (request.qty, placed.legs[0].client_order_id if placed.legs
                                else None)
        except BrokerRejected as refused:
            raise SystemExit(f"order {i} refused: {refused}") from None
        times.append(time.perf_counter() - started)
        at_order(i)
    return times


def marginal_rates(times: list[float]) -> dict[int, float]:
    return {mark: WINDOW / sum(times[mark - WINDOW:mark]) for mark in MARKS if mark <= len(times)}


def run(ledger: OrderLedger, count: int, at_order: Callable[[int], None],
        broker_per_order: bool = False) -> dict[int, float]:
    """The rates of one broker kept throughout, or of a new broker for each order over the same
    ledger object (as the offline run makes one per step and moment)."""
    market = SimMarket(load_settings().assets)
    clock = Clock()

    def new_broker() -> SimBroker:
        return SimBroker(market, ledger, starting_equity=1_000_000, min_equity_for_short=2000,
                         clock=clock)

    kept = new_broker()
    return marginal_rates(trade(new_broker if broker_per_order else lambda: kept, clock, market,
                                count, at_order))


def report(name: str, rates: list[dict[int, float]]) -> None:
    medians = {mark: statistics.median(r[mark] for r in rates) for mark in rates[0]}
    figures = "  ".join(f"at {mark}: {rate:7.1f}/s" for mark, rate in medians.items())
    last = max(medians)
    print(f"{name:<27} {figures}  ratio {last}/50: {medians[last] / medians[50]:.2f}"
          f"  (median of {len(rates)} runs)")


def sqlite_runs(count: int, runs: int, broker_per_order: bool = False) -> list[dict[int, float]]:
    results = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as folder:
            ledger = SqliteOrderLedger(Path(folder) / "sim_broker.sqlite")
            results.append(run(ledger, count, lambda i: None, broker_per_order))
    return results


def dynamodb_runs(count: int, runs: int) -> list[dict[int, float]]:
    """The DynamoDB ledger under moto (its requests, not DynamoDB's speed: the rates say little);
    prints the read and write units per order at each mark, metered (bench/dynamodb_meter.py)."""
    import os

    from dynamodb_meter import Meter
    from llmtrade.adapters.broker.ledger_dynamodb import DynamoDBOrderLedger
    from moto import mock_aws

    from tests.support import create_event_table

    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    results = []
    for _ in range(runs):
        with mock_aws():
            create_event_table("events")
            ledger = DynamoDBOrderLedger("events")
            meter = Meter()
            meter.attach(ledger._table.meta.client)
            totals: list[tuple[float, float]] = [(0.0, 0.0)]  # before the first order
            results.append(run(ledger, count,
                               lambda i, m=meter, t=totals: t.append((m.reads, m.writes))))
        for mark in (m for m in MARKS if m <= count):
            read = totals[mark][0] - totals[mark - WINDOW][0]
            write = totals[mark][1] - totals[mark - WINDOW][1]
            print(f"  dynamodb ledger at {mark}: {read / WINDOW:.1f} read units and"
                  f" {write / WINDOW:.1f} write units per order")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--dynamodb", action="store_true")
    args = parser.parse_args()
    print(f"simulated broker, one account, {args.orders} orders; orders/s over the {WINDOW} "
          "orders before each mark")
    report("sqlite", sqlite_runs(args.orders, args.runs))
    report("sqlite, a broker per order", sqlite_runs(args.orders, args.runs, True))
    if args.dynamodb:
        report("dynamodb", dynamodb_runs(args.orders, args.runs))


if __name__ == "__main__":
    main()
