"""The commands that read the local event store and write nothing to it: events, show, weeks,
leaderboard, report. Each opens the store read-only."""

from __future__ import annotations

import argparse
import json
from decimal import Decimal
from pathlib import Path

from llmtrade.adapters.store.sqlite import SqliteEventStore
from llmtrade.config import load_settings
from llmtrade.domain.calendar import parse_week_id
from llmtrade.entrypoints.cli.common import UsageError, print_board, table
from llmtrade.events import EventLog


def _stored(args: argparse.Namespace) -> SqliteEventStore:
    return SqliteEventStore(args.data_dir / "events.sqlite", read_only=True)


def _known_account(args: argparse.Namespace, *, shared: bool) -> None:
    """An --account the config does not know is a typo: refused, naming the ones it knows."""
    if args.account is None:
        return
    from llmtrade.schemas import SHARED_ACCOUNT

    known = [a.id for a in load_settings(args.config_dir).accounts.accounts]
    known += [SHARED_ACCOUNT] if shared else []
    if args.account not in known:
        raise UsageError(f"--account {args.account!r} is not an account of the config: "
                         f"{', '.join(known)}")


def events(args: argparse.Namespace) -> int:
    """`llmtrade events --week W [--account A]`: the week's stored events, oldest first, with
    what each says happened."""
    from llmtrade.entrypoints.cli.happened import what_happened

    parse_week_id(args.week)
    _known_account(args, shared=True)
    week = EventLog(_stored(args)).week(args.week, args.account)
    listed, said = week.events, what_happened(week)
    if args.json:
        print(json.dumps([{"event_id": e.event_id, "what": said.get(e.event_id, ""),
                           **e.model_dump(mode="json")} for e in listed], indent=2))
        return 0
    rows = [["recorded_at (UTC)", "account", "kind", "subject", "what"]]
    rows += [[f"{e.recorded_at:%Y-%m-%d %H:%M:%S}", e.account_id, e.kind.value, e.subject,
              said.get(e.event_id, "")] for e in listed]
    print(table(rows) if listed
          else f"no events for week {args.week}"
          + (f", account {args.account}" if args.account else ""))
    return 0


def leaderboard_command(args: argparse.Namespace) -> int:
    """The leaderboard of every settled week in the local event store."""
    from llmtrade.reports.leaderboard import board

    result = board(_stored(args), load_settings(args.config_dir))
    if args.json:
        print(json.dumps(result.model_dump(mode="json"), indent=2))
    elif not result.rows:
        print(f"no settled weeks in {args.data_dir}: a week is settled at the next weekly run "
              "(or by run-weeks)")
    else:
        print_board(result)
    return 0


def report_command(args: argparse.Namespace) -> int:
    """`llmtrade report --week W | --leaderboard`: one self-contained HTML file built from the
    events."""
    from llmtrade.adapters.store.reports import LocalReportStore
    from llmtrade.reports import leaderboard_report_html, week_report_html

    if (args.week is None) == (not args.leaderboard):
        raise UsageError("report needs --week YYYY-MM-DD or --leaderboard (one of them)")
    if args.out is not None and args.out.is_dir():
        raise UsageError(f"--out {args.out} is a folder: give the HTML file's name, e.g. "
                         f"{args.out / 'week.html'}")
    settings = load_settings(args.config_dir)
    store = _stored(args)
    if args.week:
        parse_week_id(args.week)
        try:
            html = week_report_html(store, settings, args.week)
        except LookupError as exc:
            raise UsageError(f"{exc} in {args.data_dir} "
                             "(llmtrade weeks lists the stored weeks)") from exc
    else:
        html = leaderboard_report_html(store, settings)
    name = f"week-{args.week}.html" if args.week else "leaderboard.html"
    out: Path = args.out or args.data_dir / "reports" / name
    url = LocalReportStore(out.parent).publish(out.name, html)
    print(json.dumps({"path": str(out), "url": url}) if args.json
          else f"Report written: {out}\nOpen: {url}")
    return 0


def show_command(args: argparse.Namespace) -> int:
    """`llmtrade show --week W --account A`: that account's LLM calls, prompt, answer and cost,
    readably."""
    from llmtrade.reports.terminal import account_calls, format_calls

    parse_week_id(args.week)
    _known_account(args, shared=False)
    store = _stored(args)
    if not store.list_week(args.week):
        raise UsageError(f"no events for week {args.week} in {args.data_dir} "
                         "(llmtrade weeks lists the stored weeks)")
    calls = account_calls(store, args.week, args.account)
    if args.json:
        print(json.dumps([c.model_dump(mode="json") for c in calls], indent=2))
    elif not calls:
        print(f"no LLM calls for {args.account} in week {args.week} "
              f"(llmtrade events --week {args.week} lists them)")
    else:
        print(format_calls(calls))
    return 0


def weeks_command(args: argparse.Namespace) -> int:
    """`llmtrade weeks`: the weeks in the local event store."""
    from llmtrade.reports.terminal import stored_weeks

    listed = stored_weeks(_stored(args))
    if args.json:
        print(json.dumps(listed, indent=2))
    elif not listed:
        print(f"no weeks in {args.data_dir}")
    else:
        rows = [["week", "mode", "council", "LLM calls", "LLM cost", "settled", "best",
                 "council P/L"]]
        rows += [[w["week_id"], "offline" if w["offline"] else "live", w["council"],
                  str(w["llm_calls"]), f"${Decimal(w['llm_cost_usd']):.4f}",
                  "yes" if w["settled"] else "no", w["best"] or "-",
                  f"{Decimal(w['council_pnl_usd']):+,.2f}" if w["council_pnl_usd"] else "-"]
                 for w in listed]
        print(table(rows))
    return 0
