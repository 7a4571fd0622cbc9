"""Figures, not tests: what the event store's reads cost, against the work (issue 15, target 3).

- `run-weeks` offline over 1, 4 and 16 weeks (the command's replay, its store wrapped in a counter):
  events stored; events parsed, as rows decoded by the store (JSON, canonical check, envelope) and
  payloads validated by the run's log, each per event stored (target <= 2); the store's reads (one
  SELECT each) per event stored; CPU per week, and its ratio to one week's (target <= 1.1 at 16).
- SQLite `list_week` of one week in a store holding 1 and 50 weeks (the ratio: flat with the week
  index), and without the index (a store made before it, opened read-only).
- CLI start-up: `llmtrade --help`, `run-week --help`, `leaderboard --help` (target <= 0.25 s), and
  what a command loads before its first step (the `weekly` commands' module), against an offline
  `run-week`'s wall time.
Run: python bench/bench_reads.py [--weeks 1,4,16] [--runs N]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from llmtrade.adapters.broker.ledger_sqlite import SqliteOrderLedger
from llmtrade.adapters.store.sqlite import SqliteEventStore
from llmtrade.config import load_settings
from llmtrade.entrypoints.cli.weekly import replay_weeks
from llmtrade.schemas import Event, EventKind
from llmtrade.wiring import offline_services

FIRST_WEEK = date(2026, 11, 4)


class CountingStore:
    """An event store that counts its reads (each one SELECT in SQLite) and the events they
    return."""

    def __init__(self, store: SqliteEventStore) -> None:
        self.store, self.reads, self.returned = store, 0, 0

    def _counted(self, events: list[Event]) -> list[Event]:
        self.reads += 1
        self.returned += len(events)
        return events

    def append(self, event: Event) -> bool:
        return self.store.append(event)

    def chain_head(self, week_id: str, account_id: str) -> tuple[int, str] | None:
        self.reads += 1
        return self.store.chain_head(week_id, account_id)

    def get(self, week_id: str, account_id: str, kind: EventKind,
            subject: str = "") -> Event | None:
        event = self.store.get(week_id, account_id, kind, subject)
        self.reads += 1
        self.returned += event is not None
        return event

    def list_week(self, week_id: str, account_id: str | None = None) -> list[Event]:
        return self._counted(self.store.list_week(week_id, account_id))

    def list_account(self, account_id: str, kind: EventKind | None = None) -> list[Event]:
        return self._counted(self.store.list_account(account_id, kind))


def weeks_from(first: date, count: int) -> list[str]:
    return [(first + timedelta(days=7 * i)).isoformat() for i in range(count)]


def replay(data: Path, count: int) -> dict[str, Any]:
    """`run-weeks --offline` over `count` weeks in `data`: what it stored, parsed and read."""
    counted = CountingStore(SqliteEventStore(data / "events.sqlite"))
    services = offline_services(load_settings(), counted,
                                SqliteOrderLedger(data / "sim_broker.sqlite"))
    started = time.process_time()
    with contextlib.redirect_stdout(io.StringIO()):
        replay_weeks(services, weeks_from(FIRST_WEEK, count), as_json=True)
    cpu = time.process_time() - started
    db = sqlite3.connect(data / "events.sqlite")
    stored = db.execute("SELECT count(*) FROM events").fetchone()[0]
    db.close()
    return {"weeks": count, "stored": stored, "decoded": counted.store.decoded,
            "validated": services.events.payloads.validated, "reads": counted.reads,
            "returned": counted.returned, "cpu_per_week": cpu / count}


def list_week_seconds(store_file: Path, week_id: str, runs: int,
                      read_only: bool) -> tuple[float, float]:
    """Median times of `list_week` on a freshly opened store (every row decoded) and again (the
    rows decoded before: the query and the fetch)."""
    cold, warm = [], []
    for _ in range(runs):
        store = SqliteEventStore(store_file, read_only=read_only)
        for timings in (cold, warm):
            started = time.perf_counter()
            store.list_week(week_id)
            timings.append(time.perf_counter() - started)
        store.close()
    return statistics.median(cold), statistics.median(warm)


def with_history(template: Path, weeks: int, folder: Path) -> Path:
    """A store holding `weeks` copies of the template's week, one week apart."""
    source = SqliteEventStore(template, read_only=True)
    week = source.list_week(FIRST_WEEK.isoformat())
    target = SqliteEventStore(folder / f"history-{weeks}.sqlite")
    for week_id in weeks_from(FIRST_WEEK, weeks):
        for event in week:
            target.append(event.model_copy(update={"week_id": week_id}))
    target.close()
    return folder / f"history-{weeks}.sqlite"


def without_week_index(store_file: Path) -> Path:
    """The store as one made before the week index and the chain's (whose key starts with the
    week) were: opened read-only, it stays so."""
    copy = store_file.with_suffix(".old.sqlite")
    shutil.copy(store_file, copy)
    db = sqlite3.connect(copy, isolation_level=None)
    db.execute("DROP INDEX events_by_week")
    db.execute("DROP INDEX events_chain")
    db.close()
    return copy


def seconds(command: list[str], runs: int) -> float:
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def print_replays(counts: list[int]) -> None:
    print("run-weeks --offline: events stored, parsed and read (per event stored)")
    print(f"{'weeks':>5} {'stored':>7} {'decoded':>8} {'validated':>10} {'reads':>6} "
          f"{'returned':>9} {'CPU/week s':>10}")
    results = []
    for count in counts:
        with tempfile.TemporaryDirectory() as data:
            r = replay(Path(data), count)
        results.append(r)
        stored = r["stored"]
        print(f"{count:>5} {stored:>7} {r['decoded'] / stored:>7.2f}x"
              f" {r['validated'] / stored:>9.2f}x {r['reads'] / stored:>5.2f}x"
              f" {r['returned'] / stored:>8.2f}x"
              f" {r['cpu_per_week']:>10.2f}")
    one = results[0]["cpu_per_week"]
    for r in results[1:]:
        print(f"CPU per week at {r['weeks']} weeks / at {results[0]['weeks']}: "
              f"{r['cpu_per_week'] / one:.2f} (target <= 1.1 at 16)")


def print_list_week(runs: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder)
        with contextlib.redirect_stdout(io.StringIO()):
            replay_weeks(offline_services(load_settings(), SqliteEventStore(data / "events.sqlite"),
                                          SqliteOrderLedger(data / "sim_broker.sqlite")),
                         weeks_from(FIRST_WEEK, 1), as_json=True)
        stores = {n: with_history(data / "events.sqlite", n, data) for n in (1, 50)}
        unindexed = {n: without_week_index(stores[n]) for n in stores}
        week = {1: FIRST_WEEK.isoformat(), 50: weeks_from(FIRST_WEEK, 50)[25]}
        print("\nSQLite list_week of one week, median ms: a freshly opened store (every row "
              "decoded), then again (the query and fetch)")
        for label, files, read_only in (("week index", stores, False),
                                        ("no index on the week", unindexed, True)):
            (cold_1, warm_1), (cold_50, warm_50) = (
                list_week_seconds(files[n], week[n], runs, read_only) for n in (1, 50))
            print(f"  {label:<21} 1 week {cold_1 * 1000:6.2f} / {warm_1 * 1000:5.2f}   50 weeks "
                  f"{cold_50 * 1000:6.2f} / {warm_50 * 1000:5.2f}   ratio 50/1 "
                  f"{cold_50 / cold_1:.2f} / {warm_50 / warm_1:.2f}")


def print_start_up(runs: int) -> None:
    cli = [sys.executable, "-m", "llmtrade.entrypoints.cli"]
    bare = seconds([sys.executable, "-c", "pass"], runs)
    print(f"\nCLI start-up, median wall s (a bare interpreter: {bare:.3f})")
    for args in (["--help"], ["run-week", "--help"], ["run-weeks", "--help"],
                 ["leaderboard", "--help"]):
        print(f"  llmtrade {' '.join(args):<20} {seconds(cli + args, runs):.3f} (target <= 0.25)")
    loaded = seconds([sys.executable, "-c", "import llmtrade.entrypoints.cli.weekly"], runs)
    with tempfile.TemporaryDirectory() as data:
        week = [*cli, "run-week", "--offline", "--week", "2026-11-25", "--data-dir"]
        wall = statistics.median(seconds([*week, f"{data}/{i}"], 1) for i in range(runs))
    print(f"  the weekly commands' module loaded {loaded:.3f}; an offline run-week {wall:.3f} "
          f"(start-up share {loaded / wall:.0%})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--weeks", default="1,4,16", help="replay lengths, comma separated")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    print_replays([int(n) for n in args.weeks.split(",")])
    print_list_week(args.runs)
    print_start_up(args.runs)


if __name__ == "__main__":
    main()
