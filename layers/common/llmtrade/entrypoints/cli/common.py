"""What the commands share: the user-error type, the run's services from the flags, and plain-text
tables.

Imports only the standard library at module level: `llmtrade --help` loads this and nothing heavy.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Collection
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from llmtrade.config import Settings
    from llmtrade.domain.evaluation import Board
    from llmtrade.domain.leaderboard import LeaderboardRow
    from llmtrade.services import Services
    from llmtrade.workflow import Need

# What a local run keeps in its data dir: the event store, the simulated broker's order ledger
STORE_FILE, LEDGER_FILE = "events.sqlite", "sim_broker.sqlite"


# Tests only: the CLI's "now" (YYYY-MM-DD or an ISO moment), so a test runs as on a chosen day
TODAY_ENV = "LLMTRADE_TODAY"


def now() -> datetime:
    """The moment the CLI takes for now, in New York: the clock, or $LLMTRADE_TODAY in tests (a
    date is taken at noon)."""
    from llmtrade.domain.calendar import ET

    if given := os.environ.get(TODAY_ENV):
        moment = datetime.fromisoformat(given if "T" in given or " " in given else f"{given}T12:00")
        return moment if moment.tzinfo else moment.replace(tzinfo=ET)
    return datetime.now(ET)


class UsageError(Exception):
    """A mistake the user can fix (a flag, a missing key): printed as one line, exit code 2."""


def _orders_missing_from_ledger(data_dir: Path, settings: Settings) -> str | None:
    """Why the data dir's event store and simulated broker disagree, or None. Every order the
    events say the broker took must be in its ledger: a run on a missing or other ledger would
    start from fresh accounts (every P/L 0) while the events say otherwise. The ledger may hold an
    order the events lack (a run stopped between the two writes: its rerun finds the order)."""
    from llmtrade.adapters.broker.ledger_sqlite import SqliteOrderLedger
    from llmtrade.adapters.store.sqlite import SqliteEventStore
    from llmtrade.events import EventLog
    from llmtrade.schemas import OrderEvent

    store_file, ledger_file = data_dir / STORE_FILE, data_dir / LEDGER_FILE
    if not store_file.is_file():
        if ledger_file.is_file():
            return (f"{ledger_file} exists but {STORE_FILE} does not: the simulated broker holds "
                    "orders no event records")
        return None
    accounts = [a.id for a in settings.trading_accounts]
    placed = {o.broker_order.client_order_id
              for o in EventLog(SqliteEventStore(store_file, read_only=True)).history(
                  OrderEvent, accounts) if o.broker_order is not None}
    if not placed:
        return None
    if not ledger_file.is_file():
        return (f"{store_file} records {len(placed)} orders but {ledger_file} is missing: the "
                "simulated broker would start with fresh accounts")
    ledger = SqliteOrderLedger(ledger_file, read_only=True)
    try:
        held = {o.client_order_id for account in accounts for o in ledger.orders(account)}
    finally:
        ledger.close()
    if lost := placed - held:
        return (f"{len(lost)} of the {len(placed)} orders {STORE_FILE} records are not in "
                f"{ledger_file}: the simulated broker is not the one these events ran with")
    return None


def services_from(args: argparse.Namespace, needs: Collection[Need] | None = None) -> Services:
    """The offline services with --offline, else the real providers with the keys of the
    environment or .env (only those of `needs`, when given: a checkpoint needs the broker's)."""
    from llmtrade.config import load_settings
    from llmtrade.environment import env_kill_switch
    from llmtrade.wiring import live_services, local_services

    # the local kill switch: stop before anything is opened or called
    if disabled := env_kill_switch():
        raise UsageError(disabled)
    settings = load_settings(args.config_dir)
    if args.offline:
        if why := _orders_missing_from_ledger(args.data_dir, settings):
            raise UsageError(f"{why}. Restore the data dir's two files together, or start a new "
                             "--data-dir")
        return local_services(args.data_dir, settings)
    from llmtrade.adapters.store.secrets import EnvSecrets, missing, required_keys
    from llmtrade.adapters.store.sqlite import SqliteEventStore
    from llmtrade.wiring import EVERYTHING

    needs = EVERYTHING if needs is None else needs
    secrets = EnvSecrets()
    # checked before the data dir is touched
    if absent := missing(secrets, required_keys(settings, needs)):
        raise UsageError(
            f"a real run needs keys that are not set: {', '.join(absent)}.\n"
            "Set them in the environment or in .env (see .env.example), or pass --offline for a "
            "dry run with the offline models, simulated market and simulated broker."
        )
    return live_services(settings, secrets, SqliteEventStore(args.data_dir / STORE_FILE),
                         needs)


def table(rows: list[list[str]]) -> str:
    """Columns padded to their widest cell, a rule under the header row."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
             for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:+.2f}%"


def _interval(pair: list[float] | None, scale: float = 100, unit: str = "%") -> str:
    return "-" if pair is None else f"[{pair[0] * scale:+.2f}{unit}, {pair[1] * scale:+.2f}{unit}]"


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def print_leaderboard(rows: list[LeaderboardRow]) -> None:
    """Rows best mean weekly decision return first; virtual rows (benchmarks, shadows) say so."""
    header = ["name", "kind", "weeks", "mean/week", "95% CI", "sharpe", "sharpe 95% CI",
              "sortino", "max DD", "turnover", "gross", "decision P/L", "carry P/L", "P/L USD",
              "hit rate", "cost/week", "net/week"]
    print(table([header] + [
        [r.name, f"{r.kind} (virtual)" if r.virtual else r.kind, str(r.weeks),
         _percent(r.mean_weekly_return), _interval(r.ci95), _number(r.sharpe),
         _interval(r.sharpe_ci95, 1, ""), _number(r.sortino), f"{r.max_drawdown * 100:.2f}%",
         f"{r.turnover * 100:.0f}%", f"{r.avg_gross_exposure * 100:.0f}%",
         f"{r.decision_pnl_usd:+,.2f}", f"{r.carry_pnl_usd:+,.2f}", f"{r.total_pnl_usd:+,.2f}",
         "-" if r.hit_rate is None else f"{r.hit_rate * 100:.0f}%",
         f"${r.cost_per_week_usd:.4f}", _percent(r.net_weekly_return)] for r in rows]))


def print_board(board: Board) -> None:
    """The verdict first (it says what the table may claim), the table, then the comparisons."""
    mode = "offline (simulated market, offline models)" if board.offline else "live"
    print(f"Leaderboard of {board.weeks} {mode} week(s)"
          + "".join(f"; {line}" for line in board.exclusions))
    print(f"Verdict: {board.verdict}\n")
    print_leaderboard(board.rows)
    if board.comparisons:
        print()
        print(table([["row", "vs", "weeks", "mean diff/week", "95% CI", "p", "p (Holm)",
                      "distinguishable"]] + [
            [c.name, c.against, str(c.weeks), _percent(c.mean_difference), _interval(c.ci95),
             _number(c.p_value), _number(c.p_holm), "yes" if c.significant else "no"]
            for c in board.comparisons]))
    calibration = board.calibration
    if calibration.conviction:
        print("\nCalibration, pooled across weeks (PM and council weeks with a position)")
        print(table([["conviction", "weeks", "mean decision return", "95% CI", "hit rate"]] + [
            [f"{c.conviction:+d}", str(c.n), _percent(c.mean_return), _interval(c.ci95),
             "-" if c.hit_rate is None else f"{c.hit_rate * 100:.0f}%"]
            for c in calibration.conviction]))
        print(table([["peer-review score vs decision return", "n", "spearman", "95% CI"]] + [
            [s.score, str(s.n), _number(s.spearman), _interval(s.ci95, 1, "")]
            for s in calibration.scores]))
