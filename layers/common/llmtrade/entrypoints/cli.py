"""The `llmtrade` command: the weekly run, a checkpoint and the event log, locally."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from llmtrade.config import ConfigError, load_settings
from llmtrade.domain.calendar import ET, CalendarError, current_or_next_wednesday, nyse_hours, parse_week_id
from llmtrade.entrypoints.progress import progress
from llmtrade.entrypoints.runner import run_workflow
from llmtrade.ports import LLM, RunRefused, StoreUnavailable
from llmtrade.run_keys import WeekRun
from llmtrade.schemas import SHARED_ACCOUNT, EventKind, WeekSummary
from llmtrade.services import Services
from llmtrade.steps.council_qa import CouncilContext, CouncilResult, run_council
from llmtrade.steps.week import project_week
from llmtrade.wiring import live_services, local_services
from llmtrade.workflow import CHECKPOINT, WEEKLY


class UsageError(Exception):
    pass


def _services(args: argparse.Namespace) -> Services:
    from llmtrade.environment import env_kill_switch

    if disabled := env_kill_switch():  # the local kill switch: stop before anything is opened or called
        raise UsageError(disabled)
    settings = load_settings(args.config_dir)
    if args.offline:
        return local_services(args.data_dir, settings)
    from llmtrade.adapters.store.secrets import EnvSecrets, missing, required_keys
    from llmtrade.adapters.store.sqlite import SqliteEventStore

    secrets = EnvSecrets()
    if absent := missing(secrets, required_keys(settings)):  # checked before the data dir is touched
        raise UsageError(
            f"a real run needs keys that are not set: {', '.join(absent)}.\n"
            "Set them in the environment or in .env (see .env.example), or pass --offline for a dry run "
            "with the offline models, simulated market and simulated broker."
        )
    return live_services(settings, secrets, SqliteEventStore(args.data_dir / "events.sqlite"))


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _short_model(model: str | None) -> str:
    """`offline:anthropic/claude-sonnet-4.5` -> `claude-sonnet-4.5`: the header already says offline."""
    return model.removeprefix("offline:").rsplit("/", 1)[-1] if model else "-"


def _print_week(summary: WeekSummary, added: int) -> None:
    import textwrap

    label = " (OFFLINE: offline models, simulated market and broker)" if summary.offline else ""
    print(f"Week {summary.week_id}, run at {summary.asof_et.astimezone(ET):%Y-%m-%d %H:%M} ET{label}")
    rows = [["account", "model", "trade", "conviction", "now", "equity at run"]]
    for a in summary.accounts:
        equity = f"{a.equity:,.0f}" if a.equity is not None else "-"
        now = f"{a.conviction_now:+d}" if a.conviction_now is not None else "-"
        rows.append([a.account_id, _short_model(a.model), f"{a.direction.value} {a.instrument or ''}".strip(),
                     f"{a.conviction:+d}", now, equity])
    lines = _table(rows).splitlines()
    print("\n".join(lines[:2]))
    for line, a in zip(lines[2:], summary.accounts, strict=True):
        print(line)  # then what happened to the account, wrapped under it so the table stays within 100 columns
        details = [f"order {status}" for status in a.order_statuses] or ([] if a.kind == "flat" else ["no order"])
        details += [f"note: {a.note}"] if a.note else []
        details += [f"last checkpoint {a.last_checkpoint}"] if a.last_checkpoint else []
        for detail in details:
            print(textwrap.fill(detail, width=100, initial_indent="    ", subsequent_indent="      "))
    print(f"LLM calls: {summary.llm_calls}, cost ${summary.llm_cost_usd:.4f}; "
          f"research ${summary.research_cost_usd:.4f}. New events stored: {added}.")


def run_week(args: argparse.Namespace) -> int:
    week_id = args.week or current_or_next_wednesday(datetime.now(ET).date())
    nyse_hours(parse_week_id(week_id))  # outside the market calendar: an error before anything is created
    if args.estimate:
        return estimate_week(args, week_id)
    services = _services(args)
    before = len(services.store.list_week(week_id))
    with progress(services, enabled=not args.json) as (observed, shown):
        shown.stage(f"week {week_id}")
        state = run_workflow(WEEKLY, {"week_id": week_id}, observed)
    added = len(services.store.list_week(week_id)) - before
    # the stored summary is the week as it stood at the run; show it as the events know it now (fills,
    # checkpoints, rejections): the same projection, rebuilt
    summary = project_week(services, WeekRun.model_validate(state["run"]))
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
    from llmtrade.adapters.store.sqlite import SqliteEventStore

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


def estimate_week(args: argparse.Namespace, week_id: str) -> int:
    """The weekly run's LLM calls and their cost, from the config alone: nothing is called or written."""
    from llmtrade.steps.council import estimate_calls

    settings = load_settings(args.config_dir)
    budget = settings.models.budget
    per_call = Decimal(0) if args.offline else Decimal(str(budget.call_estimate_usd))
    stages = estimate_calls(settings)
    calls, at_most = sum(s.calls for s in stages), sum(s.at_most for s in stages)
    document = {"week_id": week_id, "offline": args.offline, "stages": [s.model_dump() for s in stages],
                "calls": calls, "at_most": at_most, "call_estimate_usd": str(per_call),
                "expected_usd": str(calls * per_call), "at_most_usd": str(at_most * per_call),
                "weekly_budget_usd": str(Decimal(str(budget.weekly_usd))),
                "research_providers": [p.id for p in settings.models.research_providers]}
    if args.json:
        print(json.dumps(document, indent=2))
        return 0
    cost = "offline models cost nothing" if args.offline else f"${per_call:.2f} a call (models.yaml budget)"
    print(f"Week {week_id}: expected LLM calls, {cost}")
    rows = [["stage", "calls", "at most", "expected $", "at most $"]]
    rows += [[s.stage, str(s.calls), str(s.at_most), f"{s.calls * per_call:.2f}", f"{s.at_most * per_call:.2f}"]
             for s in stages]
    rows.append(["total", str(calls), str(at_most), f"{calls * per_call:.2f}", f"{at_most * per_call:.2f}"])
    print(_table(rows))
    print("'at most' counts every repair attempt and the backup chairman. Weekly budget: "
          f"${budget.weekly_usd:.2f}; a call that would pass it is refused and its model goes FLAT.")
    if at_most * per_call > Decimal(str(budget.weekly_usd)):
        print("WARNING: at most, the run would pass the weekly budget: the calls past it would be refused.")
    print(f"Not included: research ({', '.join(document['research_providers'])}). Nothing was called or written.")
    return 0


def _council_llm(args: argparse.Namespace) -> LLM:
    """The models the council command asks: offline ones, or OpenRouter with OPENROUTER_API_KEY alone."""
    if args.offline:
        from llmtrade.adapters.llm.offline import OfflineLLM

        return OfflineLLM()
    from llmtrade.adapters.llm.openrouter import KEY_NAME, OpenRouterLLM
    from llmtrade.adapters.store.secrets import EnvSecrets

    if not (key := EnvSecrets().get(KEY_NAME)):
        raise UsageError(f"the council needs {KEY_NAME} (in the environment or .env), or --offline to try it "
                         "with the offline models")
    return OpenRouterLLM(api_key=key)


def _print_council_stage(stage: str, result: CouncilResult) -> None:
    if stage == "answers":
        print(f"Question: {result.question}" + ("  (OFFLINE: offline models)" if result.offline else ""))
        print("\n== Stage 1: answers")
        for member in result.answers:
            if member.answer is None:
                print(f"\n-- {member.model}: FAILED: {member.error}")
                continue
            print(f"\n-- {member.model} (answered by {member.answered_by})\n{member.answer.answer}")
            print("\n".join(f"  * {point}" for point in member.answer.key_points))
    elif stage == "rankings":
        print("\n== Stage 2: anonymous rankings (labels shuffled per reviewer, mapped back to models)")
        if not result.rankings:
            print("skipped: fewer than three answers to rank")
        for ranking in result.rankings:
            if ranking.error:
                print(f"\n-- {ranking.reviewer}: FAILED: {ranking.error}")
                continue
            label_of = {model: label for label, model in ranking.labels.items()}
            print(f"\n-- {ranking.reviewer} ranked:")
            print("\n".join(f"  {i}. {model} ({label_of[model]})" for i, model in enumerate(ranking.ranking, 1)))
            print(f"  why: {ranking.reasoning}")
        print("\nAggregate ranking (mean position, 1 is best):")
        for i, rank in enumerate(result.aggregate, 1):
            mean = f"{rank.mean_position:.2f}" if rank.mean_position is not None else "-"
            print(f"  {i}. {rank.model}  {mean}  ({rank.rankings} ranking{'s' if rank.rankings != 1 else ''})")
    else:
        synthesis = result.synthesis
        print("\n== Stage 3: chairman")
        for error in synthesis.errors:
            print(f"FAILED: {error}")
        if synthesis.answer is not None:
            print(f"-- {synthesis.model} (answered by {synthesis.answered_by})\n{synthesis.answer.answer}")
            print(f"\nConsensus: {synthesis.answer.consensus}\nDissent: {synthesis.answer.dissent}")


def council(args: argparse.Namespace) -> int:
    """`llmtrade council "question"`: answers, anonymous rankings and the chairman's synthesis (SPEC §6)."""
    from llmtrade.adapters.store.sqlite import SqliteEventStore
    from llmtrade.mechanics.model_calls import spent_this_week

    settings = load_settings(args.config_dir)
    llm = _council_llm(args)
    store = SqliteEventStore(args.data_dir / "events.sqlite")
    try:
        result = run_council(CouncilContext(settings=settings, store=store, llm=llm, offline=args.offline),
                             args.question, on_stage=(lambda *_: None) if args.json else _print_council_stage)
        spent = spent_this_week(store, result.run_id)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    finally:
        store.close()
    if args.json:
        print(json.dumps({**result.model_dump(mode="json"), "recorded_cost_usd": str(spent)}, indent=2))
    else:
        print(f"\nEvery call is recorded under {result.run_id} in {args.data_dir / 'events.sqlite'} "
              f"(${spent:.4f} spent on this question so far).")
    return 0 if result.synthesis.answer is not None else 1


WEEKDAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")


def _checkpoint_moments(services: Services, week_id: str) -> list[datetime]:
    """The schedule's checkpoints from the week's run until the next one; closed days are included (the
    checkpoint step records them as skipped)."""
    from datetime import time, timedelta

    from llmtrade.domain.calendar import et

    schedule = services.settings.schedule
    start = et(parse_week_id(week_id), time.fromisoformat(schedule.weekly_run.time))
    end = start + timedelta(days=7)  # wall-clock arithmetic: the next run at the same ET time across DST
    days = [start.date() + timedelta(days=i) for i in range(8)]
    moments = [et(day, time.fromisoformat(at)) for day in days if WEEKDAYS[day.weekday()] in schedule.checkpoints.days
               for at in schedule.checkpoints.times]
    return [m for m in moments if start <= m < end]


def _print_leaderboard(rows: list[Any]) -> None:
    def pct(value: float | None) -> str:
        return "-" if value is None else f"{value * 100:+.2f}%"

    table = [["name", "accounts", "weeks", "return", "P/L USD", "hit rate", "max drawdown", "sharpe-like",
              "LLM cost", "net return"]]
    table += [[r.name, ",".join(r.accounts), str(r.weeks), pct(r.cumulative_return), f"{r.total_pnl_usd:+,.2f}",
               "-" if r.hit_rate is None else f"{r.hit_rate * 100:.0f}%", f"{r.max_drawdown * 100:.2f}%",
               "-" if r.sharpe_like is None else f"{r.sharpe_like:.2f}", f"${r.llm_cost_usd:.4f}",
               pct(r.net_return)] for r in rows]
    print(_table(table))


def run_weeks(args: argparse.Namespace) -> int:
    """Replay a range of weeks: each weekly run, every checkpoint until the next run, then settle the last week."""
    from datetime import time, timedelta

    from llmtrade.domain.calendar import et
    from llmtrade.domain.leaderboard import leaderboard
    from llmtrade.reports.leaderboard import model_names, postmortems
    from llmtrade.schemas import WeekPostmortem
    from llmtrade.steps.postmortem import settle_week

    first, last = parse_week_id(args.from_week), parse_week_id(args.to_week)
    if last < first:
        raise UsageError(f"--to {args.to_week} is before --from {args.from_week}")
    weeks = [(first + timedelta(days=7 * i)).isoformat() for i in range((last - first).days // 7 + 1)]
    settle_day = last + timedelta(days=7)
    nyse_hours(settle_day)  # the whole range must be in the market calendar before anything is created
    services = _services(args)
    settings = services.settings
    checkpoints: dict[str, tuple[int, int]] = {}
    settled: list[dict[str, Any]] = []
    if not args.json:
        label = " (OFFLINE: offline models, simulated market and broker)" if services.offline else ""
        print(f"Weeks {weeks[0]} to {weeks[-1]}{label}", flush=True)

    def report(week_id: str) -> None:
        event = services.store.get(week_id, SHARED_ACCOUNT, EventKind.WEEK_POSTMORTEM)
        assert event is not None, f"week {week_id} was not settled"
        week = WeekPostmortem.model_validate(event.payload)
        ran, skipped = checkpoints[week_id]
        settled.append({"week_id": week_id, "checkpoints": ran, "skipped": skipped,
                        "postmortem": week.model_dump(mode="json")})
        if not args.json:
            pnl = ", ".join(f"{account} {week.pnl_by_account[account]:+,.2f}" for account in week.ranking)
            rho = "-" if week.score_pnl_spearman is None else f"{week.score_pnl_spearman:+.2f}"
            print(f"Week {week_id}: {ran} checkpoints ({skipped} skipped); P/L {pnl}; review score vs P/L "
                  f"rank correlation {rho}", flush=True)

    with progress(services, enabled=not args.json) as (observed, shown):
        for number, week_id in enumerate(weeks, 1):
            shown.stage(f"week {week_id} ({number}/{len(weeks)}): weekly run")
            run_workflow(WEEKLY, {"week_id": week_id}, observed)  # its first step settles the week before
            previous = (parse_week_id(week_id) - timedelta(days=7)).isoformat()
            if previous in checkpoints:
                report(previous)
            moments = _checkpoint_moments(services, week_id)
            shown.stage(f"week {week_id} ({number}/{len(weeks)}): {len(moments)} checkpoints")
            skipped = sum(1 for at in moments
                          if not run_workflow(CHECKPOINT, {"at": at.isoformat()}, observed)["run"]["accounts"])
            checkpoints[week_id] = (len(moments), skipped)
    settle_week(services, weeks[-1], et(settle_day, time.fromisoformat(settings.schedule.weekly_run.time)))
    report(weeks[-1])
    rows = leaderboard(postmortems(services.store, [a.id for a in settings.accounts.accounts]), model_names(settings))
    if args.json:
        print(json.dumps({"weeks": settled, "leaderboard": [r.model_dump(mode="json") for r in rows]}, indent=2))
    else:
        print()
        _print_leaderboard(rows)
    return 0


def leaderboard_command(args: argparse.Namespace) -> int:
    """The leaderboard of every settled week in the local event store."""
    from llmtrade.adapters.store.sqlite import SqliteEventStore
    from llmtrade.domain.leaderboard import leaderboard
    from llmtrade.reports.leaderboard import model_names, postmortems

    settings = load_settings(args.config_dir)
    store = SqliteEventStore(args.data_dir / "events.sqlite", read_only=True)
    rows = leaderboard(postmortems(store, [a.id for a in settings.accounts.accounts]), model_names(settings))
    if args.json:
        print(json.dumps([r.model_dump(mode="json") for r in rows], indent=2))
    elif not rows:
        print(f"no settled weeks in {args.data_dir}: a week is settled at the next weekly run (or by run-weeks)")
    else:
        _print_leaderboard(rows)
    return 0


def report_command(args: argparse.Namespace) -> int:
    """`llmtrade report --week W | --leaderboard`: one self-contained HTML file built from the events."""
    from llmtrade.adapters.store.reports import LocalReportStore
    from llmtrade.adapters.store.sqlite import SqliteEventStore
    from llmtrade.reports import leaderboard_report_html, week_report_html

    if (args.week is None) == (not args.leaderboard):
        raise UsageError("report needs --week YYYY-MM-DD or --leaderboard (one of them)")
    settings = load_settings(args.config_dir)
    store = SqliteEventStore(args.data_dir / "events.sqlite", read_only=True)
    if args.week:
        parse_week_id(args.week)
        try:
            html = week_report_html(store, settings, args.week)
        except LookupError as exc:
            raise UsageError(f"{exc} in {args.data_dir} (llmtrade weeks lists the stored weeks)") from exc
    else:
        html = leaderboard_report_html(store, settings)
    name = f"week-{args.week}.html" if args.week else "leaderboard.html"
    out: Path = args.out or args.data_dir / "reports" / name
    url = LocalReportStore(out.parent).publish(out.name, html)
    print(json.dumps({"path": str(out), "url": url}) if args.json else f"Report written: {out}\nOpen: {url}")
    return 0


def show_command(args: argparse.Namespace) -> int:
    """`llmtrade show --week W --account A`: that account's LLM calls, prompt, answer and cost, readably."""
    from llmtrade.adapters.store.sqlite import SqliteEventStore
    from llmtrade.reports.terminal import account_calls, format_calls

    parse_week_id(args.week)
    calls = account_calls(SqliteEventStore(args.data_dir / "events.sqlite", read_only=True), args.week, args.account)
    if args.json:
        print(json.dumps([c.model_dump(mode="json") for c in calls], indent=2))
    elif not calls:
        print(f"no LLM calls for {args.account} in week {args.week} (llmtrade events --week {args.week} lists them)")
    else:
        print(format_calls(calls))
    return 0


def weeks_command(args: argparse.Namespace) -> int:
    """`llmtrade weeks`: the weeks in the local event store."""
    from llmtrade.adapters.store.sqlite import SqliteEventStore
    from llmtrade.reports.terminal import stored_weeks

    listed = stored_weeks(SqliteEventStore(args.data_dir / "events.sqlite", read_only=True))
    if args.json:
        print(json.dumps(listed, indent=2))
    elif not listed:
        print(f"no weeks in {args.data_dir}")
    else:
        rows = [["week", "mode", "council", "LLM calls", "LLM cost", "settled", "best", "council P/L"]]
        rows += [[w["week_id"], "offline" if w["offline"] else "live", w["council"], str(w["llm_calls"]),
                  f"${Decimal(w['llm_cost_usd']):.4f}", "yes" if w["settled"] else "no", w["best"] or "-",
                  f"{Decimal(w['council_pnl_usd']):+,.2f}" if w["council_pnl_usd"] else "-"] for w in listed]
        print(_table(rows))
    return 0


def secrets_put(args: argparse.Namespace) -> int:
    """`llmtrade secrets put`: the keys in a .env into the two Secrets Manager secrets (LLM keys for the
    research and council functions, Alpaca keys for execute and checkpoint). Prints key names, never values."""
    from dotenv import dotenv_values

    from llmtrade.adapters.store.secrets import MissingKeys, put_secrets, secret_values

    if not args.env_file.is_file():
        raise UsageError(f"{args.env_file} is not a file: pass --env-file with the keys (see .env.example)")
    try:
        secrets = secret_values(load_settings(args.config_dir), dotenv_values(args.env_file))
    except MissingKeys as exc:
        raise UsageError(f"{args.env_file} lacks keys the config needs: {', '.join(exc.names)}; nothing was "
                         "sent") from None
    done = {name: "dry run: not sent" for name in secrets}
    if not args.dry_run:
        import boto3
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            done = put_secrets(boto3.client("secretsmanager", region_name=args.region), secrets)
        except (BotoCoreError, ClientError) as exc:  # AWS's message names the call and the error, never a value
            raise UsageError(f"could not write the secrets: {exc}") from None
    for name, keys in secrets.items():
        print(f"{name} ({done[name]}): {', '.join(keys)}")
    return 0


def parser() -> argparse.ArgumentParser:
    from llmtrade import __version__

    root = argparse.ArgumentParser(prog="llmtrade", description=__doc__)
    root.add_argument("--version", action="version", version=f"llmtrade {__version__}")
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
    week.add_argument("--estimate", action="store_true",
                      help="print the expected LLM calls and cost from the config; call and write nothing")
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

    ask = commands.add_parser("council", help="ask the council any question: answers, anonymous rankings, synthesis")
    ask.add_argument("question", help="the question, in quotes")
    common(ask)
    ask.set_defaults(run=council)

    weeks = commands.add_parser("run-weeks", help="replay a range of weeks with every checkpoint, then the leaderboard")
    weeks.add_argument("--from", dest="from_week", required=True, help="the first Wednesday YYYY-MM-DD")
    weeks.add_argument("--to", dest="to_week", required=True, help="the last Wednesday YYYY-MM-DD")
    common(weeks)
    weeks.set_defaults(run=run_weeks)

    board = commands.add_parser("leaderboard", help="the cross-week leaderboard of the settled weeks")
    common(board, offline=False)
    board.set_defaults(run=leaderboard_command)

    page = commands.add_parser("report", help="write one self-contained HTML report: a week, or the leaderboard")
    page.add_argument("--week", help="the Wednesday YYYY-MM-DD of the week to report")
    page.add_argument("--leaderboard", action="store_true", help="the cross-week page instead of a week")
    page.add_argument("--out", type=Path, help="the HTML file (default: <data-dir>/reports/week-W.html)")
    common(page, offline=False)
    page.set_defaults(run=report_command)

    show = commands.add_parser("show", help="one account's LLM calls of a week: prompt, answer and cost")
    show.add_argument("--week", required=True, help="the Wednesday YYYY-MM-DD")
    show.add_argument("--account", required=True, help="the account, e.g. pm-gpt or council")
    common(show, offline=False)
    show.set_defaults(run=show_command)

    stored = commands.add_parser("weeks", help="list the weeks in the local event store")
    common(stored, offline=False)
    stored.set_defaults(run=weeks_command)
    keys = commands.add_parser("secrets", help="the keys in AWS Secrets Manager")
    keys_commands = keys.add_subparsers(dest="secrets_command", required=True)
    put = keys_commands.add_parser("put", help="write the keys of a .env into the two secrets (names printed, "
                                                "never values)")
    put.add_argument("--env-file", type=Path, default=Path(".env"), help="the .env with the keys (.env)")
    put.add_argument("--dry-run", action="store_true", help="show which key goes to which secret; send nothing")
    put.add_argument("--region", help="AWS region (default: the AWS configuration's)")
    put.add_argument("--config-dir", type=Path, default=None, help="config YAML folder (default: config/)")
    put.set_defaults(run=secrets_put)
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
