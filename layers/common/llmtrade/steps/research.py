"""Research: every configured provider freezes one research pack for the week (SPEC §3.2).

Deep research runs longer than a Lambda may, so the workflow starts the providers (`research_start`)
and then checks the running jobs (`research_check`) from a Wait → check → Choice loop. Every call is
kept for audit (prompt, raw answer, cost), then the provider's frozen pack or its failure.

Rerun safe: a provider with a pack or a failure is never called again, and a started job is only
ever checked, never started twice. A job's deadline counts from its recorded start. A fallback
provider runs once, only when every other provider has finished without a pack; with no pack at
all the week's research failure is recorded and the step raises: a week never pitches on nothing.

A rerun after such a failure (a redrive, or the week started again once an outage is over) is a new
round: every provider is tried again under round-numbered subjects (`perplexity#2`), so nothing of
the first round is overwritten or stored twice, and an outage never ends a week for good.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Literal, NoReturn

from pydantic import BaseModel

from llmtrade.events import Week
from llmtrade.mechanics.provenance import forward_only_refusal
from llmtrade.ports import ResearchProvider, RunRefused
from llmtrade.run_keys import WeekRun
from llmtrade.schemas import (
    SHARED_ACCOUNT,
    ResearchCall,
    ResearchFailure,
    ResearchPack,
    ResearchStatus,
)
from llmtrade.services import Services


class NoResearch(RuntimeError):
    """No provider produced a pack: the execution fails visibly, not pitching on empty research."""


def _now() -> datetime:
    return datetime.now(UTC)


def _append(services: Services, run: WeekRun, payload: BaseModel, subject: str) -> None:
    services.events.record(payload, week_id=run.week_id, account_id=SHARED_ACCOUNT, subject=subject)


def _shared(services: Services, run: WeekRun) -> Week:
    """The week's research events (all shared), in one read."""
    return services.events.week(run.week_id, SHARED_ACCOUNT)


def _providers(services: Services, *, fallback: bool) -> list[ResearchProvider]:
    fallbacks = {p.id for p in services.settings.models.research_providers if p.fallback}
    return [p for p in services.research if (p.name in fallbacks) == fallback]


def _round(week: Week) -> int:
    """1, or one more than the rounds that already ended with no pack at all."""
    return 1 + sum(1 for subject in week.subjects(ResearchFailure)
                   if subject == "" or subject.startswith("#"))


def _key(provider: str, round_: int) -> str:
    """The subject of a provider's events in a round (the first round keeps the bare id)."""
    return provider if round_ == 1 else f"{provider}#{round_}"


def _finished(week: Week, provider: str) -> bool:
    """The provider has its pack or its failure: once either exists, it is done for the week."""
    return provider in week.subjects(ResearchPack) or provider in week.subjects(ResearchFailure)


def _job(week: Week, provider: str) -> ResearchCall | None:
    """The provider's recorded start call, when it started a job that was still running."""
    call = (week.get(ResearchCall, SHARED_ACCOUNT, f"{provider}/start-again")
            or week.get(ResearchCall, SHARED_ACCOUNT, f"{provider}/start"))
    return call if call and call.state == "running" else None


def _fail(services: Services, run: WeekRun, provider: str | None, reason: str) -> None:
    failure = ResearchFailure(week_id=run.week_id, provider=provider, reason=reason,
                              timestamp=_now())
    _append(services, run, failure, provider or "")


def _record(services: Services, run: WeekRun, provider: str, call: Literal["start", "check"],
            status: ResearchStatus, subject: str) -> None:
    """Keep the call (its cost) for audit, then the pack or the failure it ended with. In that
    order: the cost is never lost to a crash; a crash in between leaves a finished call without
    its outcome, which the rerun completes (`_lost_outcome`)."""
    _append(services, run, ResearchCall(
        week_id=run.week_id, provider=provider, call=call, state=status.state, handle=status.handle,
        prompt=status.prompt, raw=status.raw, error=status.error, cost_usd=status.cost_usd,
        at=_now()), subject)
    _outcome(services, run, provider, status)


def _outcome(services: Services, run: WeekRun, provider: str, status: ResearchStatus) -> None:
    if status.pack is not None:
        produced = run.asof if services.offline else services.clock()
        _append(services, run, status.pack.model_copy(update={"produced_at": produced}), provider)
    elif status.state != "running":
        _fail(services, run, provider, status.error or f"{status.state} without a research pack")


def _last_call(week: Week, key: str) -> ResearchCall | None:
    """The provider's latest recorded call of the round (its start, its last check, or a restart
    after a lost outcome)."""
    calls = [(s, c) for s, c in week.by_subject(ResearchCall).items()
             if s.startswith(f"{key}/")]
    return max(calls, key=lambda sc: sc[1].at)[1] if calls else None


def _lost_outcome(services: Services, run: WeekRun, week: Week, provider: ResearchProvider,
                  key: str) -> ResearchStatus | None:
    """A finished call whose pack or failure a crash kept from being stored: complete it without
    recording (or paying for) the call again. A failure is in the call; a job's pack is fetched
    again by a check (the cost is already recorded); a one-shot provider's pack exists nowhere, so
    it is asked again under a new subject, both calls' costs kept. None when nothing was lost."""
    call = _last_call(week, key)
    if call is None or call.state == "running":
        return None
    if call.state == "failed":
        status = ResearchStatus(state="failed", error=call.error)
        _outcome(services, run, key, status)
        return status
    if call.call == "check" and (job := week.get(ResearchCall, SHARED_ACCOUNT, f"{key}/start")):
        status = provider.check(run.week_id, run.asof, job.handle)
        _outcome(services, run, key, status)
        return status
    status = provider.start(run.week_id, run.asof)
    _record(services, run, key, "start", status, f"{key}/start-again")
    return status


def _start(services: Services, run: WeekRun, provider: ResearchProvider,
           key: str) -> ResearchStatus:
    status = provider.start(run.week_id, run.asof)
    _record(services, run, key, "start", status, f"{key}/start")
    return status


def _check(services: Services, run: WeekRun, week: Week, provider: ResearchProvider,
           job: ResearchCall, key: str) -> ResearchStatus:
    checks = [s for s in week.subjects(ResearchCall) if s.startswith(f"{key}/check-")]
    status = provider.check(run.week_id, run.asof, job.handle)
    minutes = services.settings.models.research.deadline_minutes
    if status.state == "running" and _now() >= job.at + timedelta(minutes=minutes):
        # Deep research has been seen stuck: past its deadline a job counts as failed, and is
        # cancelled so it stops billing.
        status = status.model_copy(update={"state": "failed", "error": (
            f"deadline passed: still running {minutes} minutes after its start at "
            f"{job.at.astimezone(UTC):%Y-%m-%d %H:%M} UTC; {provider.cancel(job.handle)}")})
    _record(services, run, key, "check", status, f"{key}/check-{len(checks) + 1}")
    return status


def _advance(services: Services, run: WeekRun, week: Week, providers: list[ResearchProvider],
             round_: int) -> list[str]:
    """Start the providers not started yet and check the running ones; the names still running.
    `week` is read before: each provider's calls touch only its own events."""
    running = []
    for provider in providers:
        key = _key(provider.name, round_)
        if _finished(week, key):
            continue
        job = _job(week, key)
        status = (_lost_outcome(services, run, week, provider, key)
                  or (_check(services, run, week, provider, job, key) if job
                      else _start(services, run, provider, key)))
        if status.state == "running":
            running.append(provider.name)
    return running


def research_start(services: Services, run: WeekRun) -> dict[str, Any]:
    """Start every non-fallback provider that has not started yet; quick ones finish here."""
    week = _shared(services, run)
    round_ = _round(week)
    started = [p for p in _providers(services, fallback=False)
               if not _finished(week, _key(p.name, round_))
               and not _job(week, _key(p.name, round_))
               and not _lost_outcome(services, run, week, p, _key(p.name, round_))]
    if started and (late := forward_only_refusal(services.settings, services.offline, run.asof,
                                                 services.clock())):
        # a redrive days after an outage would ask today's news for a past week's decisions
        raise RunRefused(f"week {run.week_id}: research not started: {late}")
    running = [p.name for p in started
               if _start(services, run, p, _key(p.name, round_)).state == "running"]
    return {"started": [p.name for p in started], "running": running}


def research_check(services: Services, run: WeekRun) -> dict[str, Any]:
    """Check the running jobs; once none runs, fall back if there is no pack, fail if still none."""
    week = _shared(services, run)
    round_ = _round(week)
    running = _advance(services, run, week, _providers(services, fallback=False), round_)
    if not running and not (week := _shared(services, run)).has(ResearchPack):
        running = _advance(services, run, week, _providers(services, fallback=True), round_)
    if running:
        return {"done": False, "running": running}
    week = _shared(services, run)
    if packs := week.entries(ResearchPack):
        return {"done": True, "research_packs": [e.event_id for e in packs]}
    _no_research(services, run, week, round_)


def _no_research(services: Services, run: WeekRun, week: Week, round_: int) -> NoReturn:
    """Every provider of the round ended without a pack: record the round's failure, then stop."""
    keys = {_key(p.name, round_) for p in services.research}
    failures = [f for subject, f in week.by_subject(ResearchFailure).items() if subject in keys]
    reason = "research produced no pack: " + (
        "; ".join(f"{f.provider}: {f.reason}" for f in failures)
        or "no research provider is configured")
    _append(services, run, ResearchFailure(week_id=run.week_id, provider=None, reason=reason,
                                           timestamp=_now()),
            "" if round_ == 1 else f"#{round_}")
    raise NoResearch(f"week {run.week_id}: {reason}; the council does not pitch without research "
                     "(rerun the week or redrive the execution once the providers answer: every "
                     "provider is tried again)")
