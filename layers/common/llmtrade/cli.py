"""The `llmtrade` command: the weekly run, a checkpoint and the event log, locally."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from llmtrade.config import ConfigError, load_settings
from llmtrade.domain.calendar import ET, CalendarError, current_or_next_wednesday, nyse_hours, parse_week_id
from llmtrade.ports import MissingSecrets, RunRefused, StoreUnavailable
from llmtrade.runner import run_workflow
from llmtrade.schemas import SHARED_ACCOUNT, EventKind, WeekSummary
from llmtrade.services import LiveModeUnavailable, Services, live_services, local_services
from llmtrade.workflow import CHECKPOINT, WEEKLY


class UsageError(Exception):
    pass


def _services(args: argparse.Namespace) -> Services:
    settings = load_settings(args.config_dir)
    if args.offline:
        return local_services(args.data_dir, settings)
    from llmtrade.adapters.secrets import EnvSecrets

    try:
        return live_services(settings, EnvSecrets())
    except MissingSecrets as exc:
        raise UsageError(
            f"a real run needs keys that are not set: {', '.join(exc.names)}.\n"
            "Set them in the environment or in .env (see .env.example), or pass --offline for a dry run "
            "with the offline models, simulated market and simulated broker."
        ) from exc
    except LiveModeUnavailable as exc:
        raise UsageError(str(exc)) from exc


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _print_week(summary: WeekSummary, added: int) -> None:
    label = " (OFFLINE: offline models, simulated market and broker)" if summary.offline else ""
    print(f"Week {summary.week_id}, run at {summary.asof_et.astimezone(ET):%Y-%m-%d %H:%M} ET{label}")
    rows = [["account", "model", "instrument", "direction", "conviction", "equity", "orders"]]
    for a in summary.accounts:
        orders = "; ".join(a.order_statuses) or ("-" if a.kind == "flat" else "none")
        equity = f"{a.equity:,.0f}" if a.equity is not None else "-"
        rows.append([a.account_id, a.model or "-", a.instrument or "-", a.direction.value, f"{a.conviction:+d}", equity,
                     orders + (f" ({a.note})" if a.note else "")])
    print(_table(rows))
    print(f"LLM calls: {summary.llm_calls}, cost ${summary.llm_cost_usd:.4f}. New events stored: {added}.")


def run_week(args: argparse.Namespace) -> int:
    week_id = args.week or current_or_next_wednesday(datetime.now(ET).date())
    nyse_hours(parse_week_id(week_id))  # outside the market calendar: an error before anything is created
    services = _services(args)
    before = len(services.store.list_week(week_id))
    run_workflow(WEEKLY, {"week_id": week_id}, services)
    added = len(services.store.list_week(week_id)) - before
    event = services.store.get(week_id, SHARED_ACCOUNT, EventKind.WEEK_SUMMARY)
    assert event is not None, "the weekly run ended without a week summary"
    summary = WeekSummary.model_validate(event.payload)
    if args.json:
        print(json.dumps({"summary": summary.model_dump(mode="json"), "new_events": added}, indent=2))
    else:
        _print_week(summary, added)
    return 0


def checkpoint(args: argparse.Namespace) -> int:
    try:
        at = datetime.strptime(args.at, "%Y-%m-%d %H:%M").replace(tzinfo=ET)
    except ValueError as exc:
        raise UsageError(f'--at {args.at!r} must look like "YYYY-MM-DD HH:MM" (America/New_York)') from exc
    nyse_hours(at.date())
    services = _services(args)
    state = run_workflow(CHECKPOINT, {"at": at.isoformat()}, services)
    run = state["run"]
    results = state["results"]["checkpoints"]
    if args.json:
        print(json.dumps(state, indent=2, default=str))
    elif not run["accounts"]:
        skipped = services.store.get(run["week_id"], SHARED_ACCOUNT, EventKind.CHECKPOINT_SKIPPED, at.isoformat())
        print(f"Checkpoint {args.at} ET skipped: {skipped.payload['reason'] if skipped else 'nothing to do'}")
    else:
        rows = [["account", "action", "conviction", "P/L", "reason"]]
        for result in results:
            event = services.store.get(run["week_id"], result["account_id"], EventKind.CHECKPOINT_UPDATE,
                                       at.isoformat())
            assert event is not None
            update = event.payload
            rows.append([update["account_id"], update["action"],
                         f"{update['conviction_before']:+d} -> {update['conviction_after']:+d}",
                         f"{float(update['unrealized_pl']):+.2f}", update["reason_delta"]])
        print(f"Checkpoint {args.at} ET, week {run['week_id']}")
        print(_table(rows))
    return 0


def events(args: argparse.Namespace) -> int:
    parse_week_id(args.week)
    from llmtrade.adapters.sqlite_store import SqliteEventStore

    store = SqliteEventStore(args.data_dir / "events.sqlite", read_only=True)
    listed = store.list_week(args.week, args.account)
    if args.json:
        print(json.dumps([{"event_id": e.event_id, **e.model_dump(mode="json")} for e in listed], indent=2))
        return 0
    rows = [["recorded_at (UTC)", "account", "kind", "subject"]]
    rows += [[f"{e.recorded_at:%Y-%m-%d %H:%M:%S}", e.account_id, e.kind.value, e.subject] for e in listed]
    print(_table(rows) if listed else f"no events for week {args.week}" + (f", account {args.account}"
                                                                            if args.account else ""))
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="llmtrade", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)

    def common(sub: argparse.ArgumentParser, offline: bool = True) -> None:
        sub.add_argument("--data-dir", type=Path, default=Path(".llmtrade"), help="local event store (.llmtrade)")
        sub.add_argument("--config-dir", type=Path, default=None, help="config YAML folder (default: config/)")
        sub.add_argument("--json", action="store_true", help="print JSON instead of a table")
        if offline:
            sub.add_argument("--offline", action="store_true",
                             help="dry run: offline models, simulated market and broker, no keys needed")

    week = commands.add_parser("run-week", help="run the weekly pipeline")
    week.add_argument("--week", help="the Wednesday YYYY-MM-DD (default: the current or next Wednesday)")
    common(week)
    week.set_defaults(run=run_week)

    point = commands.add_parser("checkpoint", help="run one checkpoint")
    point.add_argument("--at", required=True, help='"YYYY-MM-DD HH:MM" in America/New_York')
    common(point)
    point.set_defaults(run=checkpoint)

    listing = commands.add_parser("events", help="list a week's stored events")
    listing.add_argument("--week", required=True, help="the Wednesday YYYY-MM-DD")
    listing.add_argument("--account", help="only this account's events (e.g. pm-gpt, council, shared)")
    common(listing, offline=False)
    listing.set_defaults(run=events)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.run(args)
    except (UsageError, ConfigError, CalendarError, RunRefused, StoreUnavailable) as exc:
        print(f"llmtrade: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
