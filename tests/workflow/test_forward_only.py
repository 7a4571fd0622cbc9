"""Offline runs simulate any week; a pack produced past the grace marks a live week late (the
live refusals are in test_live_week)."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

from llmtrade.domain.calendar import ET
from llmtrade.entrypoints.runner import run_workflow
from llmtrade.run_keys import WeekRun
from llmtrade.schemas import SHARED_ACCOUNT, ResearchPack
from llmtrade.services import Services
from llmtrade.steps.summary import project_week
from llmtrade.workflow import WEEKLY

from tests.conftest import WEEK

ASOF = datetime(2026, 11, 25, 8, 0, tzinfo=ET)


def test_a_pack_produced_past_the_grace_marks_the_week_late(services: Services) -> None:
    state = run_workflow(WEEKLY, {"week_id": WEEK}, services)  # offline: any week, never late
    run = WeekRun.model_validate(state["run"])
    assert not project_week(services, run).late
    pack = services.events.week(WEEK).entries(ResearchPack)[0]
    late = pack.payload.model_copy(update={"produced_at": ASOF + timedelta(hours=3)})
    services.events.record(late, week_id=WEEK, account_id=SHARED_ACCOUNT, subject="late-provider")
    assert project_week(dataclasses.replace(services, offline=False), run).late
