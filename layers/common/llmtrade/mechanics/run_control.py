"""What both openings (open_week, open_checkpoint) decide first: whether the run goes on at all.

- The kill switch: disabled → a `run_disabled` event, and the run stops before any model or order.
- A scheduled start (EventBridge Scheduler delivers at least once) claims its scheduled time with a
  conditional put of a `run_claim` event naming the execution: a second delivery finds another
  execution's claim and stops; a redrive (or a retry) of the claiming execution finds its own and
  goes on. A manual start (week_id / at) never claims: a user's rerun must always be able to run.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from llmtrade.domain.calendar import ET
from llmtrade.run_keys import Stopped
from llmtrade.schemas import SHARED_ACCOUNT, RunClaim, RunDisabled
from llmtrade.services import Services


def stop_or_claim(services: Services, workflow: str, week_id: str, moment: datetime,
                  execution_input: dict[str, Any], execution: str | None) -> Stopped | None:
    """Why this run stops (and what was recorded), or None when it goes on."""
    subject = f"{workflow}@{moment.astimezone(ET).isoformat()}"
    if reason := services.kill_switch():
        services.events.record(RunDisabled(workflow=workflow, at=moment, reason=reason),
                               week_id=week_id, account_id=SHARED_ACCOUNT, subject=subject)
        return Stopped(week_id=week_id, stopped="disabled", reason=reason)
    if not execution_input.get("scheduled_time"):
        return None
    if not execution:
        raise ValueError("a scheduled start needs the execution name to claim its run "
                         "(the opening's `execution` payload key: $$.Execution.Name)")
    # the first execution to record the claim owns the run; a later delivery gets that claim back
    owner = services.events.record(
        RunClaim(workflow=workflow, scheduled_time=moment, execution=execution),
        week_id=week_id, account_id=SHARED_ACCOUNT, subject=subject).payload.execution
    if owner == execution:
        return None
    return Stopped(week_id=week_id, stopped="duplicate",
                   reason=f"a duplicate delivery: execution {owner} already runs the {workflow} "
                          f"run scheduled for {moment.astimezone(ET):%Y-%m-%d %H:%M} ET")


def halted(services: Services, week_id: str, account_id: str, stage: str) -> dict[str, Any] | None:
    """The kill switch, checked again by every step that calls a model or places an order: a run
    that was already past its opening when the switch was turned off stops there too, with the
    reason recorded. Rerunning the step once the switch is back on does the work (nothing else was
    written)."""
    reason = services.kill_switch()
    if not reason:
        return None
    now = datetime.now(UTC)
    services.events.record(RunDisabled(workflow=stage, at=now, reason=reason), week_id=week_id,
                           account_id=account_id, subject=f"{stage}@{now.isoformat()}")
    return {"account_id": account_id, "status": "disabled", "reason": reason}
