"""The weekly commands: `run-week` (and its `--estimate`), `checkpoint` and `run-weeks`, a replay
of weeks."""

from __future__ import annotations

import argparse
import json
import textwrap
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from llmtrade.config import ScheduleConfig, load_settings
from llmtrade.domain.calendar import (
    ET,
    checkpoint_moments,
    current_or_next_wednesday,
    nyse_hours,
    parse_week_id,
)
from llmtrade.entrypoints.cli.common import UsageError, print_leaderboard, services_from, table
from llmtrade.entrypoints.progress import Progress, progress
from llmtrade.entrypoints.runner import run_workflow
from llmtrade.reports.week_trading import checkpoint_equity
from llmtrade.run_keys import WeekRun
from llmtrade.schemas import (
    SHARED_ACCOUNT,
    AccountKind,
    CheckpointSkipped,
    CheckpointUpdate,
    WeekPostmortem,
    WeekSummary,
)
from llmtrade.services import Services
from llmtrade.steps.week import project_week
from llmtrade.workflow import CHECKPOINT, WEEKLY

OFFLINE_LABEL = " (OFFLINE: offline models, simulated market and broker)"
WEEKDAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")


# ----------------------------------------------------------------------------------------- run-week
def _short_model(model: str | None) -> str:
    """`offline:anthropic/claude-sonnet-4.5` -> `claude-sonnet-4.5`: the header already says
    offline."""
    return model.removeprefix("offline:").rsplit("/", 1)[-1] if model else "-"


def _print_week(summary: WeekSummary, added: int) -> None:
    label = OFFLINE_LABEL if summary.offline else ""
    print(f"Week {summary.week_id}, "
          f"run at {summary.asof_et.astimezone(ET):%Y-%m-%d %H:%M} ET{label}")
    rows = [["account", "model", "trade", "conviction", "now", "equity at run"]]
    for a in summary.accounts:
        equity = f"{a.equity:,.0f}" if a.equity is not None else "-"
        now = f"{a.conviction_now:+d}" if a.conviction_now is not None else "-"
        rows.append([a.account_id, _short_model(a.model),
                     f"{a.direction.value} {a.instrument or ''}".strip(),
                     f"{a.conviction:+d}", now, equity])
    lines = table(rows).splitlines()
    print("\n".join(lines[:2]))
    for line, a in zip(lines[2:], summary.accounts, strict=True):
        print(line)
        # then what happened to the account, wrapped under it so the table stays within 100 columns
        details = [f"order {status}" for status in a.order_statuses]
        details = details or ([] if a.kind is AccountKind.FLAT else ["no order"])
        details += [f"note: {a.note}"] if a.note else []
        details += [f"last checkpoint {a.last_checkpoint}"] if a.last_checkpoint else []
        for detail in details:
            print(textwrap.fill(detail, width=100, initial_indent="    ",
                                subsequent_indent="      "))
    print(f"LLM calls: {summary.llm_calls}, cost ${summary.llm_cost_usd:.4f}; "
          f"research ${summary.research_cost_usd:.4f}. New events stored: {added}.")


def run_week(args: argparse.Namespace) -> int:
    week_id = args.week or current_or_next_wednesday(datetime.now(ET).date())
    # outside the market calendar: an error before anything is created
    nyse_hours(parse_week_id(week_id))
    if args.estimate:
        return estimate_week(args, week_id)
    services = services_from(args)
    before = len(services.events.week(week_id).events)
    with progress(services, enabled=not args.json) as (observed, shown):
        shown.stage(f"week {week_id}")
        state = run_workflow(WEEKLY, {"week_id": week_id}, observed)
    added = len(services.events.week(week_id).events) - before
    # the stored summary is the week as it stood at the run; show it as the events know it now
    # (fills, checkpoints, rejections): the same projection, rebuilt
    summary = project_week(services, WeekRun.model_validate(state["run"]))
    if args.json:
        print(json.dumps({"summary": summary.model_dump(mode="json"), "new_events": added},
                         indent=2))
    else:
        _print_week(summary, added)
    return 0


def estimate_week(args: argparse.Namespace, week_id: str) -> int:
    """The weekly run's LLM calls and their cost, from the config alone: nothing is called or
    written."""
    from llmtrade.steps.council import estimate_calls

    settings = load_settings(args.config_dir)
    budget = settings.models.budget
    per_call = Decimal(0) if args.offline else Decimal(str(budget.call_estimate_usd))
    stages = estimate_calls(settings)
    calls, at_most = sum(s.calls for s in stages), sum(s.at_most for s in stages)
    document = {"week_id": week_id, "offline": args.offline,
                "stages": [s.model_dump() for s in stages],
                "calls": calls, "at_most": at_most, "call_estimate_usd": str(per_call),
                "expected_usd": str(calls * per_call), "at_most_usd": str(at_most * per_call),
                "weekly_budget_usd": str(Decimal(str(budget.weekly_usd))),
                "research_providers": [p.id for p in settings.models.research_providers]}
    if args.json:
        print(json.dumps(document, indent=2))
        return 0
    cost = ("offline models cost nothing" if args.offline
            else f"${per_call:.2f} a call (models.yaml budget)")
    print(f"Week {week_id}: expected LLM calls, {cost}")
    rows = [["stage", "calls", "at most", "expected $", "at most $"]]
    rows += [[s.stage, str(s.calls), str(s.at_most), f"{s.calls * per_call:.2f}",
              f"{s.at_most * per_call:.2f}"] for s in stages]
    rows.append(["total", str(calls), str(at_most), f"{calls * per_call:.2f}",
                 f"{at_most * per_call:.2f}"])
    print(table(rows))
    print("'at most' counts every repair attempt and the backup chairman. Weekly budget: "
          f"${budget.weekly_usd:.2f}; a call that would pass it is refused and its model goes "
          "FLAT.")
    if at_most * per_call > Decimal(str(budget.weekly_usd)):
        print("WARNING: at most, the run would pass the weekly budget: the calls past it would be "
              "refused.")
    print(f"Not included: research ({', '.join(document['research_providers'])}). "
          "Nothing was called or written.")
    return 0


# --------------------------------------------------------------------------------------- checkpoint
def _checkpoint_at(text: str) -> datetime:
    try:
        return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=ET)
    except ValueError as exc:
        raise UsageError(f'--at {text!r} must look like "YYYY-MM-DD HH:MM" '
                         "(America/New_York)") from exc


def checkpoint(args: argparse.Namespace) -> int:
    at = _checkpoint_at(args.at)
    nyse_hours(at.date())
    services = services_from(args)
    state = run_workflow(CHECKPOINT, {"at": at.isoformat()}, services)
    week_id = state["run"]["week_id"]
    if args.json:
        print(json.dumps(state, indent=2, default=str))
    elif not state["run"]["accounts"]:
        skipped = services.events.get(CheckpointSkipped, week_id, SHARED_ACCOUNT, at.isoformat())
        print(f"Checkpoint {args.at} ET skipped: {skipped.reason if skipped else 'nothing to do'}")
    else:
        week = services.events.week(week_id)
        updates = week.by_account(CheckpointUpdate, subject=at.isoformat())
        # P/L: the position's this week; equity: cash + shares x price, as the checkpoint saw it
        rows = [["account", "action", "conviction", "P/L (week)", "equity", "reason"]]
        for result in state["results"]["checkpoints"]:
            update = updates[result["account_id"]]
            equity = checkpoint_equity(week, update)
            rows.append([update.account_id, update.action.value,
                         f"{update.conviction_before:+d} -> {update.conviction_after:+d}",
                         f"{float(update.unrealized_pl):+.2f}",
                         "-" if equity is None else f"{equity:,.2f}", update.reason_delta])
        print(f"Checkpoint {args.at} ET, week {week_id}")
        print(table(rows))
    return 0


# ---------------------------------------------------------------------------------------- run-weeks
def _checkpoint_moments(schedule: ScheduleConfig, week_id: str) -> list[datetime]:
    """The schedule's checkpoints from the week's run until the next one, with an early close's
    pre-close one (domain.calendar); closed days are included (the checkpoint step records them as
    skipped), as the schedules in AWS start them."""
    start = schedule.weekly_run_at(parse_week_id(week_id))
    # wall-clock arithmetic: the next run at the same ET time across DST
    end = start + timedelta(days=7)
    moments = [m for i in range(8)
               for m in checkpoint_moments(schedule, start.date() + timedelta(days=i))]
    return [m for m in moments if start <= m < end]


def _week_range(args: argparse.Namespace) -> list[str]:
    first, last = parse_week_id(args.from_week), parse_week_id(args.to_week)
    if last < first:
        raise UsageError(f"--to {args.to_week} is before --from {args.from_week}")
    return [(first + timedelta(days=7 * i)).isoformat()
            for i in range((last - first).days // 7 + 1)]


@dataclass
class _Replay:
    """What a replay has done: each week's checkpoints (run, skipped) and, once settled, its
    postmortem."""

    services: Services
    quiet: bool  # --json: everything is printed at the end, as one document
    checkpoints: dict[str, tuple[int, int]] = field(default_factory=dict)
    settled: list[dict[str, Any]] = field(default_factory=list)

    def week(self, observed: Services, shown: Progress, week_id: str, label: str) -> None:
        """The weekly run (whose first step settles the week before: reported then), then its
        checkpoints."""
        shown.stage(f"{label}: weekly run")
        run_workflow(WEEKLY, {"week_id": week_id}, observed)
        previous = (parse_week_id(week_id) - timedelta(days=7)).isoformat()
        if previous in self.checkpoints:
            self.report(previous)
        moments = _checkpoint_moments(self.services.settings.schedule, week_id)
        shown.stage(f"{label}: {len(moments)} checkpoints")
        skipped = sum(1 for at in moments
                      if not run_workflow(CHECKPOINT, {"at": at.isoformat()},
                                          observed)["run"]["accounts"])
        self.checkpoints[week_id] = (len(moments), skipped)

    def report(self, week_id: str) -> None:
        week = self.services.events.get(WeekPostmortem, week_id, SHARED_ACCOUNT)
        assert week is not None, f"week {week_id} was not settled"
        ran, skipped = self.checkpoints[week_id]
        self.settled.append({"week_id": week_id, "checkpoints": ran, "skipped": skipped,
                             "postmortem": week.model_dump(mode="json")})
        if not self.quiet:
            pnl = ", ".join(f"{account} {week.pnl_by_account[account]:+,.2f}"
                            for account in week.ranking)
            rho = "-" if week.score_pnl_spearman is None else f"{week.score_pnl_spearman:+.2f}"
            print(f"Week {week_id}: {ran} checkpoints ({skipped} skipped); P/L {pnl}; "
                  f"review score vs P/L rank correlation {rho}", flush=True)


def run_weeks(args: argparse.Namespace) -> int:
    """Replay a range of weeks: each weekly run, every checkpoint until the next run, then settle
    the last week."""
    from llmtrade.domain.leaderboard import leaderboard
    from llmtrade.reports.leaderboard import model_names, postmortems
    from llmtrade.steps.postmortem import settle_week

    weeks = _week_range(args)
    settle_day = parse_week_id(args.to_week) + timedelta(days=7)
    # the whole range must be in the market calendar before anything is created
    nyse_hours(settle_day)
    services = services_from(args)
    settings = services.settings
    replay = _Replay(services, quiet=args.json)
    if not args.json:
        print(f"Weeks {weeks[0]} to {weeks[-1]}{OFFLINE_LABEL if services.offline else ''}",
              flush=True)
    with progress(services, enabled=not args.json) as (observed, shown):
        for number, week_id in enumerate(weeks, 1):
            replay.week(observed, shown, week_id, f"week {week_id} ({number}/{len(weeks)})")
    settle_week(services, weeks[-1], settings.schedule.weekly_run_at(settle_day))
    replay.report(weeks[-1])
    rows = leaderboard(postmortems(services.store, [a.id for a in settings.accounts.accounts]),
                       model_names(settings))
    if args.json:
        print(json.dumps({"weeks": replay.settled,
                          "leaderboard": [r.model_dump(mode="json") for r in rows]}, indent=2))
    else:
        print()
        print_leaderboard(rows)
    return 0
