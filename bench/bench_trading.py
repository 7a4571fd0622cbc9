"""Figures, not tests: how long a checkpoint takes for every account offline, and the simulated
broker's order throughput.

- The 15:50 checkpoint must finish well before the 16:00 close: its wall time (median of N, offline,
  6 accounts, the weekly run done) against the 10 minutes it has (ratio).
- Orders per second through the simulated broker (submit + lookup, the execution step's pattern), as
  the ledger grows: the ledger is re-read per order, so throughput falls with its length.
Run: python bench/bench_trading.py [--runs N]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path

from llmtrade.config import load_settings
from llmtrade.domain.calendar import ET
from llmtrade.entrypoints.runner import run_workflow
from llmtrade.schemas import OrderRequest, OrderSide
from llmtrade.wiring import local_services
from llmtrade.workflow import CHECKPOINT, WEEKLY

WEEK = "2026-11-25"
CHECKPOINTS = ["2026-11-30T09:00", "2026-11-30T12:00", "2026-11-30T14:00", "2026-11-30T15:50"]


def checkpoint_seconds(runs: int) -> list[float]:
    settings = load_settings()
    timings = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as data:
            services = local_services(Path(data), settings)
            run_workflow(WEEKLY, {"week_id": WEEK}, services)
            for at in CHECKPOINTS[:-1]:
                run_workflow(CHECKPOINT,
                             {"at": datetime.fromisoformat(at).replace(tzinfo=ET).isoformat()},
                             services)
            started = time.perf_counter()
            run_workflow(CHECKPOINT, {
                "at": datetime.fromisoformat(CHECKPOINTS[-1]).replace(tzinfo=ET).isoformat()},
                services)
            timings.append(time.perf_counter() - started)
    return timings


def orders_per_second(count: int) -> float:
    with tempfile.TemporaryDirectory() as data:
        services = local_services(Path(data), load_settings())
        broker = services.broker_at(datetime(2026, 11, 30, 12, 0, tzinfo=ET))
        started = time.perf_counter()
        for i in range(count):
            client_id = f"bench-{i}"
            if broker.order_by_client_id("pm-gpt", client_id) is None:
                side = OrderSide.BUY if i % 2 == 0 else OrderSide.SELL
                broker.submit_order("pm-gpt", OrderRequest(symbol="SPY", qty=1, side=side,
                                                           client_order_id=client_id))
        return count / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    timings = checkpoint_seconds(args.runs)
    median = statistics.median(timings)
    print(f"15:50 checkpoint, 6 accounts offline: median {median:.3f} s of {args.runs} "
          f"({median / 600:.5f} of the 10 minutes before the close)")
    for count in (50, 200):
        print(f"simulated broker, {count} orders (submit + lookup): "
              f"{orders_per_second(count):.0f} orders/s")


if __name__ == "__main__":
    main()
