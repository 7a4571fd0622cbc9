"""What the commands share: the user-error type, the run's services from the flags, and plain-text
tables.

Imports only the standard library at module level: `llmtrade --help` loads this and nothing heavy.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from llmtrade.domain.leaderboard import LeaderboardRow
    from llmtrade.services import Services


class UsageError(Exception):
    """A mistake the user can fix (a flag, a missing key): printed as one line, exit code 2."""


def services_from(args: argparse.Namespace) -> Services:
    """The offline services with --offline, else the real providers with the keys of the
    environment or .env."""
    from llmtrade.config import load_settings
    from llmtrade.environment import env_kill_switch
    from llmtrade.wiring import live_services, local_services

    # the local kill switch: stop before anything is opened or called
    if disabled := env_kill_switch():
        raise UsageError(disabled)
    settings = load_settings(args.config_dir)
    if args.offline:
        return local_services(args.data_dir, settings)
    from llmtrade.adapters.store.secrets import EnvSecrets, missing, required_keys
    from llmtrade.adapters.store.sqlite import SqliteEventStore

    secrets = EnvSecrets()
    # checked before the data dir is touched
    if absent := missing(secrets, required_keys(settings)):
        raise UsageError(
            f"a real run needs keys that are not set: {', '.join(absent)}.\n"
            "Set them in the environment or in .env (see .env.example), or pass --offline for a "
            "dry run with the offline models, simulated market and simulated broker."
        )
    return live_services(settings, secrets, SqliteEventStore(args.data_dir / "events.sqlite"))


def table(rows: list[list[str]]) -> str:
    """Columns padded to their widest cell, a rule under the header row."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
             for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:+.2f}%"


def print_leaderboard(rows: list[LeaderboardRow]) -> None:
    header = ["name", "accounts", "weeks", "return", "P/L USD", "hit rate", "max drawdown",
              "sharpe-like", "LLM cost", "net return"]
    print(table([header] + [
        [r.name, ",".join(r.accounts), str(r.weeks), _percent(r.cumulative_return),
         f"{r.total_pnl_usd:+,.2f}", "-" if r.hit_rate is None else f"{r.hit_rate * 100:.0f}%",
         f"{r.max_drawdown * 100:.2f}%", "-" if r.sharpe_like is None else f"{r.sharpe_like:.2f}",
         f"${r.llm_cost_usd:.4f}", _percent(r.net_return)] for r in rows]))
