"""The weekly commands: `run-week` (and its `--estimate`), `checkpoint` and `run-weeks`, a replay
of weeks."""

from __future__ import annotations

import argparse
import json
import textwrap
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from llmtrade.config import ScheduleConfig
from llmtrade.domain.calendar import (
    ET,
    checkpoint_moments,
    current_or_next_wednesday,
    nyse_hours,
    parse_week_id,
)
from llmtrade.entrypoints.cli.common import (
    UsageError,
    now,
    print_board,
    services_from,
    table,
)
from llmtrade.entrypoints.progress import Progress, counted, progress
from llmtrade.entrypoints.runner import run_workflow
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
from llmtrade.steps.summary import project_week
from llmtrade.workflow import CHECKPOINT, FUNCTION_SPECS, WEEKLY

OFFLINE_LABEL = " (OFFLINE: offline models, simulated market and broker)"
FUTURE_NOTE = ("Simulated future week: it has not happened yet, its prices are made up by the "
               "seeded simulator.")
WEEKDAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")


# ----------------------------------------------------------------------------------------- run-week
def _short_model(model: str | None) -> str:
    """`offline:anthropic/claude-sonnet-4.5` -> `claude-sonnet-4.5`: the header already says
    offline."""
    return model.removeprefix("offline:").rsplit("/", 1)[-1] if model else "-"


def _future(summary: WeekSummary) -> bool:
    """An offline week whose run lies after now: nothing real backs its market."""
    return summary.offline and summary.asof_et > now()


def _print_week(summary: WeekSummary, added: int) -> None:
    label = OFFLINE_LABEL if summary.offline else ""
    print(f"Week {summary.week_id}, "
          f"run at {summary.asof_et.astimezone(ET):%Y-%m-%d %H:%M} ET{label}")
    if _future(summary):
        print(FUTURE_NOTE)
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
    week_id = (current_or_next_wednesday(now().date()) if args.week is None else args.week)
    # outside the market calendar: an error before anything is created
    nyse_hours(parse_week_id(week_id))
    if args.estimate:
        from llmtrade.entrypoints.cli.estimate import estimate_week

        return estimate_week(args, week_id)
    # this run's new events: another run of the data dir may store some meanwhile
    services, new = counted(services_from(args))
    with progress(services, enabled=not args.json) as (observed, shown):
        shown.stage(f"week {week_id}")
        state = run_workflow(WEEKLY, {"week_id": week_id}, observed)
    added = new.count
    # the stored summary is the week as it stood at the run; show it as the events know it now
    # (fills, checkpoints, rejections): the same projection, rebuilt
    summary = project_week(services, WeekRun.model_validate(state["run"]))
    if args.json:
        print(json.dumps({"summary": summary.model_dump(mode="json"), "new_events": added,
                          "simulated_future_week": _future(summary)}, indent=2))
    else:
        _print_week(summary, added)
    return 0


# --------------------------------------------------------------------------------------- checkpoint
def _checkpoint_at(text: str) -> datetime:
    try:
        return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=ET)
    except ValueError as exc:
        raise UsageError(f'--at {text!r} must look like "YYYY-MM-DD HH:MM" '
                         "(America/New_York)") from exc


def checkpoint(args: argparse.Namespace) -> int:
    from llmtrade.reports.week_trading import checkpoint_equity  # the reports load jinja2

    at = _checkpoint_at(args.at)
    nyse_hours(at.date())
    # a live checkpoint reads and trades the Alpaca accounts only: the broker's keys, no others
    services = services_from(args, FUNCTION_SPECS["checkpoint"].needs)
    state = run_workflow(CHECKPOINT, {"at": at.isoformat()}, services)
    week_id = state["run"]["week_id"]
    skipped = (None if state["run"]["accounts"] else
               services.events.get(CheckpointSkipped, week_id, SHARED_ACCOUNT, at.isoformat()))
    week = services.events.week(week_id)
    updates = week.by_account(CheckpointUpdate, subject=at.isoformat())
    done = [updates[r["account_id"]] for r in state.get("results", {}).get("checkpoints", [])]
    if args.json:
        print(json.dumps({
            "at": at.isoformat(), "week_id": week_id,
            "skipped": None if done else (skipped.reason if skipped else "nothing to do"),
            "accounts": [{"account_id": u.account_id, "action": u.action.value,
                          "conviction_before": u.conviction_before,
                          "conviction_after": u.conviction_after,
                          "unrealized_pl": str(u.unrealized_pl), "reason": u.reason_delta}
                         for u in done],
            **state}, indent=2, default=str))
    elif not state["run"]["accounts"]:
        print(f"Checkpoint {args.at} ET skipped: {skipped.reason if skipped else 'nothing to do'}")
    else:
        # P/L: the position's this week; equity: cash + shares x price, as the checkpoint saw it
        rows = [["account", "action", "conviction", "P/L (week)", "equity", "reason"]]
        for update in done:
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
    weeks = _week_range(args)
    # the whole range must be in the market calendar before anything is created
    nyse_hours(parse_week_id(args.to_week) + timedelta(days=7))
    return replay_weeks(services_from(args), weeks, as_json=args.json)


def replay_weeks(services: Services, weeks: list[str], *, as_json: bool = False) -> int:
    """`run-weeks` with these services (bench/bench_reads counts its reads): each week's run and
    checkpoints, the last week settled, then the leaderboard."""
    from llmtrade.reports.leaderboard import board
    from llmtrade.steps.postmortem import settle_week

    settings = services.settings
    settle_day = parse_week_id(weeks[-1]) + timedelta(days=7)
    replay = _Replay(services, quiet=as_json)
    if not as_json:
        print(f"Weeks {weeks[0]} to {weeks[-1]}{OFFLINE_LABEL if services.offline else ''}",
              flush=True)
    with progress(services, enabled=not as_json) as (observed, shown):
        for number, week_id in enumerate(weeks, 1):
            replay.week(observed, shown, week_id, f"week {week_id} ({number}/{len(weeks)})")
    settle_week(services, weeks[-1], settings.schedule.weekly_run_at(settle_day))
    replay.report(weeks[-1])
    # the same board `llmtrade leaderboard` shows: intervals, benchmarks, shadows, the verdict
    result = board(services.store, settings)
    if as_json:
        print(json.dumps({"weeks": replay.settled, "leaderboard": result.model_dump(mode="json")},
                         indent=2))
    else:
        print()
        print_board(result)
    return 0
