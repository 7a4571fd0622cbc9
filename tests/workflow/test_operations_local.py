"""Safe to run unattended, in the local runner: every task that calls a model or places an order
stops at the kill switch, scheduled runs are claimed once (manual reruns always run), a checkpoint
of a week without its weekly run says what to do.

The same guarantees in moto, against the synthesized state machines: test_operations_runtime.
"""

from __future__ import annotations

import dataclasses
import threading
from datetime import datetime
from pathlib import Path
from typing import Any, cast

import pytest
from llmtrade.adapters.broker.sim_broker import SimBroker
from llmtrade.domain.calendar import ET
from llmtrade.entrypoints.cli import main
from llmtrade.entrypoints.dispatch import handle
from llmtrade.entrypoints.runner import run_workflow
from llmtrade.environment import RecordedMetrics, env_kill_switch
from llmtrade.schemas import SHARED_ACCOUNT, EventKind
from llmtrade.services import NotWired, Services
from llmtrade.workflow import CHECKPOINT, TASKS, WEEKLY, WORKFLOWS, FanOut, Task

from tests.conftest import WEEK
from tests.workflow.expected import stored

# Wednesday 08:00 ET, as EventBridge Scheduler sends it
SCHEDULED = {"scheduled_time": "2026-11-25T13:00:00Z"}


GUARDED = [task for workflow in WORKFLOWS.values() for task in workflow.tasks() if task.guarded]


def test_every_task_that_calls_a_model_or_places_an_order_is_guarded() -> None:
    # openings check the switch themselves (and claim their run); settlement only reads the broker
    assert {t.name for t in GUARDED} == {"research_start", "research_check", "pitch", "review",
                                         "chairman", "seal", "execute", "week_summary",
                                         "checkpoint_account"}


@pytest.mark.parametrize("task", GUARDED, ids=lambda task: task.name)
def test_a_guarded_task_stops_at_the_kill_switch_before_it_runs(
        services: Services, task: Task) -> None:
    workflow, _ = TASKS[task.name]
    accounts = [a.id for a in services.settings.trading_accounts]
    if workflow is WEEKLY:
        run = handle("research", {"action": "open_week", "input": {"week_id": WEEK}}, services)
    else:
        run = {"week_id": WEEK, "at": "2026-11-30T12:00:00-05:00", "accounts": accounts}
    fan_out = next((s for s in workflow.steps if isinstance(s, FanOut) and s.task == task), None)
    item = run[fan_out.over][0] if fan_out else None
    # the switch turned off mid-run; nothing the step could call is there: any call fails the test
    nothing = NotWired("anything", ["nothing: the kill switch is off"])
    off = dataclasses.replace(services, kill_switch=lambda: "off for the test", llm=nothing,
                              research=[nothing], market=nothing, broker_at=nothing)
    result = handle(task.function, {"action": task.name, "run": run, "item": item}, off)
    assert (result["status"], result["reason"], result["account_id"]) == (
        "disabled", "off for the test", item or SHARED_ACCOUNT)
    # the poll ends (its Choice reads `done`): the steps after it stop too
    if workflow.poll_checked_by(task):
        assert result["done"] is True
    (recorded,) = services.store.list_week(WEEK)  # the reason, and nothing else
    assert (recorded.kind, recorded.account_id, recorded.payload["workflow"]) == (
        EventKind.RUN_DISABLED, item or SHARED_ACCOUNT, task.name)


def test_the_kill_switch_stops_local_runs(services: Services, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str],
                                          tmp_path: Path) -> None:
    monkeypatch.setenv("LLMTRADE_KILL_SWITCH", "disabled")
    state = run_workflow(WEEKLY, {"week_id": WEEK}, services)
    assert state["run"]["stopped"] == "disabled" and state["results"] == {}
    assert [e.kind for e in services.store.list_week(WEEK)] == [EventKind.RUN_DISABLED]
    assert main(["run-week", "--offline", "--week", WEEK,
                 "--data-dir", str(tmp_path / "cli")]) == 2
    assert ("LLMTRADE_KILL_SWITCH" in capsys.readouterr().err
            and not (tmp_path / "cli").exists())
    monkeypatch.setenv("LLMTRADE_KILL_SWITCH", "off")
    # a typo fails: never guess
    with pytest.raises(ValueError, match="'enabled' or 'disabled', not 'off'"):
        env_kill_switch()


# ------------------------------------------------------------- the local runner honours the same
def test_the_local_runner_claims_scheduled_runs_and_never_manual_ones(services: Services) -> None:
    first = run_workflow(WEEKLY, SCHEDULED, services, execution="exec-1")
    assert first["run"]["proceed"] is True and "week_summary" in first["results"]
    events = services.store.list_week(WEEK)
    again = run_workflow(WEEKLY, SCHEDULED, services, execution="exec-2")
    assert again["run"]["stopped"] == "duplicate" and "exec-1" in again["run"]["reason"]
    assert services.store.list_week(WEEK) == events
    # its own claim: goes on
    redriven = run_workflow(WEEKLY, SCHEDULED, services, execution="exec-1")
    assert redriven["run"]["proceed"] is True and services.store.list_week(WEEK) == events
    # a user's rerun always runs
    manual = run_workflow(WEEKLY, {"week_id": WEEK}, services, execution="exec-3")
    assert manual["run"]["proceed"] is True
    assert [e.payload["execution"] for e in services.store.list_week(WEEK)
            if e.kind is EventKind.RUN_CLAIM] == ["exec-1"]


# --------------------------------------------------------------------------- a missed weekly run
def test_a_checkpoint_of_a_week_without_its_weekly_run_says_what_to_do(services: Services) -> None:
    metrics = RecordedMetrics()
    state = run_workflow(CHECKPOINT, {"at": "2026-11-30T12:00:00-05:00"},
                         dataclasses.replace(services, metrics=metrics))
    assert state["run"]["accounts"] == []
    skipped = stored(services.store, WEEK, SHARED_ACCOUNT, EventKind.CHECKPOINT_SKIPPED,
                     "2026-11-30T12:00:00-05:00")
    reason = skipped.payload["reason"]
    assert reason.startswith(f"week {WEEK} has no weekly run") and "rerun it" in reason
    assert f"run-week --week {WEEK}" in reason and "redrive" in reason
    assert metrics.points == [("CheckpointSkipped", 1, "Count", {"reason": "no_weekly_run"})]
    run_workflow(CHECKPOINT, {"at": "2026-11-26T12:00:00-05:00"},
                 dataclasses.replace(services, metrics=metrics))
    assert metrics.points[-1] == ("CheckpointSkipped", 1, "Count", {"reason": "market_closed"})


def test_parallel_deliveries_on_threads_claim_once(services: Services) -> None:
    """The claim is a conditional put: of two openings racing for one scheduled time, exactly one
    wins."""
    results: list[dict[str, Any]] = []
    start = threading.Barrier(2)

    def deliver(name: str) -> None:
        start.wait()
        results.append(handle("research", {"action": "open_week", "input": SCHEDULED,
                                           "execution": name}, services))

    threads = [threading.Thread(target=deliver, args=(f"race-{i}",)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r["proceed"] for r in results) == [False, True]


def test_the_kill_switch_turned_off_mid_run_stops_the_models_and_orders(
        services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    from llmtrade.adapters.research.offline import OfflineResearch
    from llmtrade.schemas import ResearchStatus

    class SlowResearch(OfflineResearch):
        name = "slow"

        def start(self, week_id: str, asof: datetime) -> ResearchStatus:
            return ResearchStatus(state="running", handle="job-1")

        checks = 0

        def check(self, week_id: str, asof: datetime, handle: str) -> ResearchStatus:
            # still running at the first check: the run waits, and the switch is turned off
            self.checks += 1
            return (super().start(week_id, asof) if self.checks > 1
                    else ResearchStatus(state="running", handle=handle))

    async def switch_off_during_the_wait(seconds: float) -> None:
        # the owner turns it off while research runs
        monkeypatch.setenv("LLMTRADE_KILL_SWITCH", "disabled")

    slow = dataclasses.replace(services, research=[SlowResearch(services.market)])
    run_workflow(WEEKLY, {"week_id": WEEK}, slow, sleep=switch_off_during_the_wait)
    kinds = [e.kind for e in services.store.list_week(WEEK)]
    assert (EventKind.LLM_CALL not in kinds and EventKind.ORDER not in kinds
            and EventKind.RUN_DISABLED in kinds)
    thursday = datetime(2026, 11, 26, 12, 0, tzinfo=ET)
    assert all(not cast(SimBroker, services.broker_at(thursday)).orders(a.id)
               for a in services.settings.trading_accounts)
    # back on: the same week runs to the end
    monkeypatch.setenv("LLMTRADE_KILL_SWITCH", "enabled")
    run_workflow(WEEKLY, {"week_id": WEEK}, slow)
    assert services.store.get(WEEK, SHARED_ACCOUNT, EventKind.WEEK_SUMMARY) is not None
