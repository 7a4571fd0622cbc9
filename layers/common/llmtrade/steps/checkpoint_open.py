"""Opening a daily checkpoint (SPEC §4): its moment, the kill switch and duplicate deliveries;
the accounts to check, or a recorded skip when the market is closed or the week had no weekly run.
Each account's checkpoint is `llmtrade.steps.checkpoint`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from llmtrade.domain.calendar import ET, week_id_for
from llmtrade.environment import Metric
from llmtrade.events import Week
from llmtrade.mechanics.run_control import stop_or_claim
from llmtrade.ports import RunRefused
from llmtrade.run_keys import CheckpointRun
from llmtrade.schemas import (
    SHARED_ACCOUNT,
    CheckpointSkipped,
    CheckpointUpdate,
    PositionSnapshot,
)
from llmtrade.services import Services


def open_checkpoint(services: Services, execution_input: dict[str, Any],
                    execution: str | None = None) -> dict[str, Any]:
    """The accounts to check at `at` / `scheduled_time`; none (a recorded skip) when the market is
    closed or the week has no weekly run. Stops at the kill switch or a duplicate delivery
    (mechanics.run_control)."""
    at = _moment(execution_input)
    week_id = week_id_for(at)
    if stopped := stop_or_claim(services, "checkpoint", week_id, at, execution_input, execution):
        if stopped.stopped == "disabled":
            services.metrics.put(Metric.CHECKPOINT_SKIPPED, 1, reason="disabled")
        return stopped.model_dump(mode="json")
    week = services.events.week(week_id)
    # only accounts whose weekly execution finished: a half-executed week is not managed yet
    opened = set(week.by_account(PositionSnapshot))
    accounts = [a.id for a in services.settings.trading_accounts if a.id in opened]
    skip = _market_closed(services, at) or (None if accounts else _no_weekly_run(week_id))
    accounts = [] if skip else accounts
    _refuse_going_back(services, week, at, accounts)
    if skip:
        reason, why = skip
        skipped = CheckpointSkipped(week_id=week_id, at=at, reason=reason)
        services.events.record(skipped, week_id=week_id, account_id=SHARED_ACCOUNT,
                               subject=at.isoformat())
        services.metrics.put(Metric.CHECKPOINT_SKIPPED, 1, reason=why)
    else:
        services.metrics.put(Metric.CHECKPOINT_RAN, 1)
    return CheckpointRun(week_id=week_id, at=at, accounts=accounts).model_dump(mode="json")


def _refuse_going_back(services: Services, week: Week, at: datetime, accounts: list[str]) -> None:
    """Refuse where the broker cannot go (a simulation's past) while accounts are left to check."""
    done = set(week.by_account(CheckpointUpdate, subject=at.isoformat()))
    if not set(accounts) <= done and (conflict := services.replay_conflict(at)):
        raise RunRefused(f"checkpoint {at:%Y-%m-%d %H:%M} ET: {conflict}")


def _moment(execution_input: dict[str, Any]) -> datetime:
    """The moment in ET: a manual `at` (naive means ET) or the scheduler's `scheduled_time`."""
    raw = execution_input.get("at") or execution_input.get("scheduled_time")
    if not raw:
        raise ValueError("a checkpoint needs `at` or `scheduled_time`")
    at = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    return at.replace(tzinfo=ET) if at.tzinfo is None else at.astimezone(ET)


def _market_closed(services: Services, at: datetime) -> tuple[str, str] | None:
    """(why the checkpoint is skipped, its metric reason) when the market is closed at `at`."""
    session = services.market.session(at.date())
    if session is None:
        return f"market closed on {at.date()} ({at:%A})", "market_closed"
    if at >= session.close:
        return f"market closed at {session.close:%H:%M} on {at.date()}", "market_closed"
    return None


def _no_weekly_run(week_id: str) -> tuple[str, str]:
    return ((f"week {week_id} has no weekly run: the weekly run for {week_id} has not completed "
             "(still running, or failed): rerun it (redrive its failed execution, or start the "
             f'weekly state machine with {{"week_id": "{week_id}"}}; locally `llmtrade run-week '
             f"--week {week_id}`); later checkpoints manage the week once it has run"),
            "no_weekly_run")
