"""A run killed between a research call and its outcome loses nothing: the call (its cost) is
stored first, and the rerun completes the pack or failure without recording the call twice."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

import pytest
from llmtrade.events import EventLog
from llmtrade.ports import EventStore
from llmtrade.schemas import (
    SHARED_ACCOUNT,
    Event,
    EventKind,
    ResearchCall,
    ResearchFailure,
    ResearchPack,
)
from llmtrade.services import Services

from tests.conftest import WEEK
from tests.workflow.test_research_poll import (
    FALLBACK,
    GEMINI,
    PERPLEXITY,
    RESEARCH,
    FakeResearch,
    run_week,
)


class Killed(BaseException):
    """The process dies: no step catches it."""


class KilledAt:
    """The store, dying just before the first append of `kind` (once)."""

    def __init__(self, store: EventStore, kind: EventKind) -> None:
        self._store, self._kind, self.fired = store, kind, False

    def append(self, event: Event) -> bool:
        if event.kind is self._kind and not self.fired:
            self.fired = True
            raise Killed
        return self._store.append(event)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def _killed_then_rerun(services: Services, kind: EventKind,
                       *providers: FakeResearch) -> Services:
    dying = dataclasses.replace(services, store=KilledAt(services.store, kind))
    with pytest.raises(Killed):
        run_week(dying, *providers, workflow=RESEARCH)
    run_week(services, *providers, workflow=RESEARCH)
    return services


def _calls(services: Services) -> dict[str, ResearchCall]:
    return EventLog(services.store).week(WEEK, SHARED_ACCOUNT).by_subject(ResearchCall)


@pytest.mark.parametrize("kind", [EventKind.RESEARCH_PACK, EventKind.RESEARCH_FAILURE])
def test_a_kill_before_a_quick_providers_outcome_loses_neither_cost_nor_outcome(
        services: Services, kind: EventKind) -> None:
    fails = kind is EventKind.RESEARCH_FAILURE
    quick = FakeResearch(PERPLEXITY, services.market, fails=fails)
    deep = FakeResearch(GEMINI, services.market, running_checks=1)
    _killed_then_rerun(services, kind, quick, deep, FakeResearch(FALLBACK, services.market))
    calls = _calls(services)
    week = EventLog(services.store).week(WEEK, SHARED_ACCOUNT)
    if fails:
        # the failure is in the recorded call: not asked again
        assert quick.starts == 1 and set(calls) >= {f"{PERPLEXITY}/start"}
        assert week.get(ResearchFailure, SHARED_ACCOUNT, PERPLEXITY) is not None
    else:
        # the pack existed nowhere else: asked again, and both calls' costs are kept
        assert quick.starts == 2
        assert calls[f"{PERPLEXITY}/start"].cost_usd == Decimal("1.25")
        assert calls[f"{PERPLEXITY}/start-again"].cost_usd == Decimal("1.25")
        assert week.get(ResearchPack, SHARED_ACCOUNT, PERPLEXITY) is not None
    assert week.get(ResearchPack, SHARED_ACCOUNT, GEMINI) is not None


def test_a_kill_before_a_jobs_pack_fetches_it_again_without_a_second_cost(
        services: Services) -> None:
    deep = FakeResearch(GEMINI, services.market, running_checks=1)
    quick = FakeResearch(PERPLEXITY, services.market, fails=True)
    # the quick provider's failure is written first: kill at the job's pack, not at that failure
    store = services.store
    dying = dataclasses.replace(services, store=KilledAt(store, EventKind.RESEARCH_PACK))
    with pytest.raises(Killed):
        run_week(dying, quick, deep, FakeResearch(FALLBACK, services.market), workflow=RESEARCH)
    run_week(services, quick, deep, FakeResearch(FALLBACK, services.market), workflow=RESEARCH)
    calls = _calls(services)
    gemini = {s: c for s, c in calls.items() if s.startswith(f"{GEMINI}/")}
    # started once; the completed check is recorded once with its cost, the pack fetched again
    assert deep.starts == 1 and deep.checks == 3
    assert sorted(gemini) == [f"{GEMINI}/check-1", f"{GEMINI}/check-2", f"{GEMINI}/start"]
    assert sum(c.cost_usd for c in gemini.values()) == Decimal("0.01") + Decimal("1.25")
    week = EventLog(services.store).week(WEEK, SHARED_ACCOUNT)
    assert week.get(ResearchPack, SHARED_ACCOUNT, GEMINI) is not None
