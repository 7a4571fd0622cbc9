"""The research poll loop run in-process: start every provider, check the running jobs, wait
between checks, fall back, enforce the deadline, and fail the week visibly when no provider produced
a pack."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from llmtrade.adapters.research.offline import OfflineResearch
from llmtrade.entrypoints.dispatch import handle
from llmtrade.entrypoints.runner import run_workflow
from llmtrade.ports import MarketData
from llmtrade.schemas import (
    SHARED_ACCOUNT,
    EventKind,
    ResearchCall,
    ResearchFailure,
    ResearchStatus,
)
from llmtrade.services import Services
from llmtrade.steps import research as research_step
from llmtrade.workflow import WEEKLY, Poll, Workflow

from tests.conftest import WEEK

# config/models.yaml: two providers, and a fallback that runs only when neither produced a pack
PERPLEXITY, GEMINI, FALLBACK = "perplexity", "gemini-deep-research", "openrouter-fallback"
NEVER = 10**6
# the weekly declaration up to its research: for the tests that need no pitches (a whole week
# takes ~1 s)
RESEARCH = dataclasses.replace(WEEKLY,
                               steps=tuple(s for s in WEEKLY.steps if isinstance(s, Poll)))


class FakeClock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 25, 13, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


class FakeResearch:
    """A provider whose job runs for `running_checks` checks, then completes (or fails); with 0 it
    finishes in start, like a quick provider. Each check moves `clock` on by `check_takes`."""

    def __init__(self, name: str, market: MarketData, *, running_checks: int = 0,
                 fails: bool = False, clock: FakeClock | None = None,
                 check_takes: timedelta = timedelta(0)) -> None:
        self.name, self.market = name, market
        self.running_checks, self.fails = running_checks, fails
        self.clock, self.check_takes = clock, check_takes
        self.starts = self.checks = 0
        self.cancelled: list[str] = []

    def start(self, week_id: str, asof: datetime) -> ResearchStatus:
        self.starts += 1
        prompt = f"research the week of {week_id}"
        if not self.running_checks:
            return self._finished(week_id, asof).model_copy(update={"prompt": prompt})
        return ResearchStatus(state="running", handle=f"{self.name}-job", prompt=prompt,
                              raw='{"status": "in_progress"}', cost_usd=Decimal("0.01"))

    def check(self, week_id: str, asof: datetime, handle: str) -> ResearchStatus:
        assert handle == f"{self.name}-job"
        self.checks += 1
        if self.clock:
            self.clock.now += self.check_takes
        if self.checks <= self.running_checks:
            return ResearchStatus(state="running", handle=handle, raw='{"status": "in_progress"}')
        return self._finished(week_id, asof)

    def cancel(self, handle: str) -> str:
        self.cancelled.append(handle)
        return f"{handle} cancelled"

    def _finished(self, week_id: str, asof: datetime) -> ResearchStatus:
        if self.fails:
            return ResearchStatus(state="failed", error=f"{self.name} answered 503",
                                  raw='{"error": "busy"}')
        pack = OfflineResearch(self.market).produce(week_id, asof).model_copy(
            update={"research_source": self.name})
        return ResearchStatus(state="completed", pack=pack, raw='{"status": "completed"}',
                              cost_usd=Decimal("1.25"))

    @property
    def calls(self) -> int:
        return self.starts + self.checks


def run_week(services: Services, *providers: FakeResearch, sleeps: list[float] | None = None,
             workflow: Workflow = WEEKLY) -> dict[str, Any]:
    async def sleep(seconds: float) -> None:  # the wait is asserted, not slept
        (sleeps if sleeps is not None else []).append(seconds)

    return run_workflow(workflow, {"week_id": WEEK},
                        dataclasses.replace(services, research=list(providers)), sleep=sleep)


def shared(services: Services, kind: EventKind) -> dict[str, Any]:
    """subject -> payload of the week's shared events of that kind."""
    return {e.subject: e.payload for e in services.store.list_week(WEEK, SHARED_ACCOUNT)
            if e.kind is kind}


def test_a_running_job_is_checked_until_it_completes_and_its_pack_is_frozen(
        services: Services) -> None:
    quick, deep = (FakeResearch(PERPLEXITY, services.market),
                   FakeResearch(GEMINI, services.market, running_checks=2))
    fallback = FakeResearch(FALLBACK, services.market)
    sleeps: list[float] = []
    state = run_week(services, quick, deep, fallback, sleeps=sleeps)

    assert ((quick.starts, quick.checks) == (1, 0) and (deep.starts, deep.checks) == (1, 3)
            and fallback.calls == 0)
    # between the three checks
    assert sleeps == [services.settings.models.research.poll_seconds] * 2
    assert state["results"]["research_check"] == {
        "done": True,
        "research_packs": [f"{WEEK}/shared/research_pack/{n}" for n in (PERPLEXITY, GEMINI)]}
    assert state["results"]["research_start"] == {"started": [PERPLEXITY, GEMINI],
                                                  "running": [GEMINI]}
    packs = shared(services, EventKind.RESEARCH_PACK)
    assert {p["research_source"] for p in packs.values()} == {PERPLEXITY, GEMINI}
    calls = {s: ResearchCall.model_validate(p)
             for s, p in shared(services, EventKind.RESEARCH_CALL).items()}
    assert sorted(calls) == [f"{GEMINI}/check-1", f"{GEMINI}/check-2", f"{GEMINI}/check-3",
                             f"{GEMINI}/start", f"{PERPLEXITY}/start"]
    assert (calls[f"{GEMINI}/start"].handle == f"{GEMINI}-job"
            and calls[f"{GEMINI}/start"].state == "running")
    assert calls[f"{GEMINI}/start"].prompt == f"research the week of {WEEK}"
    assert ([calls[f"{GEMINI}/check-{n}"].state for n in (1, 2, 3)]
            == ["running", "running", "completed"])
    assert (calls[f"{GEMINI}/check-3"].cost_usd == Decimal("1.25")
            and "completed" in calls[f"{GEMINI}/check-3"].raw)
    assert len([e for e in services.store.list_week(WEEK) if e.kind is EventKind.PITCH]) == 4


def test_a_rerun_after_completion_calls_no_provider_again(services: Services) -> None:
    providers = [FakeResearch(PERPLEXITY, services.market),
                 FakeResearch(GEMINI, services.market, running_checks=1),
                 FakeResearch(FALLBACK, services.market)]
    run_week(services, *providers, workflow=RESEARCH)
    first = services.store.list_week(WEEK)
    calls = [p.calls for p in providers]
    run_week(services, *providers, workflow=RESEARCH)
    assert [p.calls for p in providers] == calls and services.store.list_week(WEEK) == first


def test_a_started_job_is_never_started_again(services: Services) -> None:
    deep = FakeResearch(GEMINI, services.market, running_checks=NEVER)
    with_deep = dataclasses.replace(services, research=[deep])
    run = handle("research", {"action": "open_week", "input": {"week_id": WEEK}}, with_deep)
    for _ in range(2):  # a retried or redriven start
        assert handle("research", {"action": "research_start", "run": run},
                      with_deep)["started"] in ([GEMINI], [])
    assert deep.starts == 1
    assert handle("research", {"action": "research_check", "run": run}, with_deep) == {
        "done": False, "running": [GEMINI]}
    assert (deep.starts, deep.checks) == (1, 1)


def test_a_failed_provider_is_recorded_and_the_others_pack_is_enough(services: Services) -> None:
    failing, fallback = (FakeResearch(PERPLEXITY, services.market, fails=True),
                         FakeResearch(FALLBACK, services.market))
    run_week(services, failing, FakeResearch(GEMINI, services.market, running_checks=1), fallback,
             workflow=RESEARCH)
    failure = ResearchFailure.model_validate(
        shared(services, EventKind.RESEARCH_FAILURE)[PERPLEXITY])
    assert failure.provider == PERPLEXITY and failure.reason == "perplexity answered 503"
    assert fallback.calls == 0 and list(shared(services, EventKind.RESEARCH_PACK)) == [GEMINI]


def test_the_fallback_runs_once_when_no_provider_produced_a_pack(services: Services) -> None:
    fallback = FakeResearch(FALLBACK, services.market)
    run_week(services, FakeResearch(PERPLEXITY, services.market, fails=True),
             FakeResearch(GEMINI, services.market, running_checks=1, fails=True), fallback)
    assert fallback.starts == 1 and fallback.checks == 0
    assert set(shared(services, EventKind.RESEARCH_FAILURE)) == {PERPLEXITY, GEMINI}
    assert list(shared(services, EventKind.RESEARCH_PACK)) == [FALLBACK]
    assert len([e for e in services.store.list_week(WEEK) if e.kind is EventKind.PITCH]) == 4


def test_with_no_pack_at_all_the_week_fails_clearly_and_never_pitches(services: Services) -> None:
    providers = [FakeResearch(PERPLEXITY, services.market, fails=True),
                 FakeResearch(GEMINI, services.market, running_checks=1, fails=True),
                 FakeResearch(FALLBACK, services.market, fails=True)]
    with pytest.raises(research_step.NoResearch, match=f"week {WEEK}: research produced no pack: "):
        run_week(services, *providers)
    week_failure = ResearchFailure.model_validate(shared(services, EventKind.RESEARCH_FAILURE)[""])
    assert week_failure.provider is None
    for name in (PERPLEXITY, GEMINI, FALLBACK):
        assert f"{name}: {name} answered 503" in week_failure.reason
    assert ({e.kind for e in services.store.list_week(WEEK)}
            == {EventKind.RESEARCH_CALL, EventKind.RESEARCH_FAILURE})
    calls = [p.calls for p in providers]
    # the outage goes on: a rerun is a new round, failing again
    with pytest.raises(research_step.NoResearch):
        run_week(services, *providers)
    assert all(after > before
               for after, before in zip([p.calls for p in providers], calls, strict=True))
    assert (set(shared(services, EventKind.RESEARCH_FAILURE))
            >= {"", "#2", f"{PERPLEXITY}#2", f"{GEMINI}#2"})
    # the outage is over: the next rerun asks again, and the week goes on
    for provider in providers:
        provider.fails = False
    run_week(services, *providers)
    assert set(shared(services, EventKind.RESEARCH_PACK)) == {f"{PERPLEXITY}#3", f"{GEMINI}#3"}
    assert len([e for e in services.store.list_week(WEEK) if e.kind is EventKind.PITCH]) == 4
    before = len(services.store.list_week(WEEK))
    # and once it has packs, a rerun asks nobody and stores nothing
    run_week(services, *providers)
    assert len(services.store.list_week(WEEK)) == before


def test_a_job_past_its_deadline_fails_and_the_fallback_runs(
        services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeClock()
    monkeypatch.setattr(research_step, "_now", clock)
    deadline = services.settings.models.research.deadline_minutes
    stuck = FakeResearch(GEMINI, services.market, running_checks=NEVER, clock=clock,
                         check_takes=timedelta(minutes=deadline * 0.6))
    fallback = FakeResearch(FALLBACK, services.market)
    sleeps: list[float] = []
    run_week(services, FakeResearch(PERPLEXITY, services.market, fails=True), stuck, fallback,
             sleeps=sleeps, workflow=RESEARCH)
    # at 0.6 and 1.2 times the deadline after its start
    assert stuck.checks == 2 and len(sleeps) == 1
    assert stuck.cancelled == [f"{GEMINI}-job"]  # so it stops running and billing
    failure = ResearchFailure.model_validate(shared(services, EventKind.RESEARCH_FAILURE)[GEMINI])
    assert failure.reason == \
        (f"deadline passed: still running {deadline} minutes after its start at "
         f"2026-11-25 13:00 UTC; {GEMINI}-job cancelled")
    assert fallback.starts == 1 and list(shared(services, EventKind.RESEARCH_PACK)) == [FALLBACK]
