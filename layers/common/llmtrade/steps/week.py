"""Opening the week (SPEC §3): its moment, the kill switch and duplicate deliveries, the
forward-only and replay refusals; the run keys the weekly workflow carries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from llmtrade.domain.calendar import ET, nyse_hours, parse_week_id, week_id_for
from llmtrade.mechanics.provenance import forward_only_refusal
from llmtrade.mechanics.run_control import stop_or_claim
from llmtrade.ports import RunRefused
from llmtrade.run_keys import WeekRun
from llmtrade.schemas import (
    SHARED_ACCOUNT,
    WeekSummary,
)
from llmtrade.services import Services


def open_week(services: Services, execution_input: dict[str, Any],
              execution: str | None = None) -> dict[str, Any]:
    """Resolve the week from `week_id` (a manual start) or `scheduled_time` (EventBridge Scheduler);
    stop at the kill switch or a duplicate delivery of the schedule (steps.opening).
    `execution`: the execution name."""
    settings = services.settings
    if week_id := execution_input.get("week_id"):
        asof = settings.schedule.weekly_run_at(parse_week_id(week_id))
    elif scheduled := execution_input.get("scheduled_time"):
        asof = datetime.fromisoformat(scheduled.replace("Z", "+00:00")).astimezone(ET)
        week_id = week_id_for(asof)
    else:
        raise ValueError("the weekly run needs week_id (YYYY-MM-DD, a Wednesday) or scheduled_time")
    # a week outside the market calendar fails here, before anything is written; the exchange's own
    # list, not the broker's calendar: this function is given no broker keys
    nyse_hours(asof.date())
    complete = services.events.find(WeekSummary, week_id, SHARED_ACCOUNT) is not None
    if not complete and (late := forward_only_refusal(settings, services.offline, asof,
                                                      services.clock())):
        raise RunRefused(f"week {week_id}: {late}")
    if stopped := stop_or_claim(services, "weekly", week_id, asof, execution_input, execution):
        return stopped.model_dump(mode="json")
    if not complete and (conflict := services.replay_conflict(asof)):
        raise RunRefused(f"week {week_id}: {conflict}")
    return WeekRun(
        week_id=week_id, asof=asof, pm_accounts=[a.id for a in settings.pm_accounts],
        accounts=[a.id for a in settings.accounts.accounts],
        research_poll_seconds=settings.models.research.poll_seconds,
    ).model_dump(mode="json")
