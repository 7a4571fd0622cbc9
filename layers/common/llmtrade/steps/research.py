"""Research: every configured provider freezes one research pack for the week (SPEC §3.2).

Deep research runs longer than a Lambda may, so the workflow starts the providers (`research_start`)
and then checks the running jobs (`research_check`) from a Wait → check → Choice loop. Every call is
kept for audit (prompt, raw answer, cost), then the provider's frozen pack or its failure.

Rerun safe: a provider with a pack or a failure is never called again, and a started job is only
ever checked, never started twice. A job's deadline counts from its recorded start. A fallback
provider runs once, only when every other provider has finished without a pack; with no pack at
all the week's research failure is recorded and the step raises: a week never pitches on nothing.

A rerun after such a failure (a redrive, or the week started again once an outage is over) is a new
round: every provider is tried again under round-numbered subjects (`perplexity#2`), so nothing of the
first round is overwritten or stored twice, and an outage never ends a week for good.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel

from llmtrade.ports import ResearchProvider, ResearchStatus
from llmtrade.run_keys import WeekRun
from llmtrade.schemas import SHARED_ACCOUNT, Event, EventKind, ResearchCall, ResearchFailure
from llmtrade.services import Services


class NoResearch(RuntimeError):
    """No provider produced a pack: the execution fails visibly instead of pitching on empty research."""


def _now() -> datetime:
    return datetime.now(UTC)


def _append(services: Services, run: WeekRun, kind: EventKind, payload: BaseModel, subject: str) -> Event:
    event = Event.of(payload, week_id=run.week_id, account_id=SHARED_ACCOUNT, kind=kind, subject=subject,
                     recorded_at=_now())
    services.store.append(event)
    return event


def _providers(services: Services, *, fallback: bool) -> list[ResearchProvider]:
    fallbacks = {p.id for p in services.settings.models.research_providers if p.fallback}
    return [p for p in services.research if (p.name in fallbacks) == fallback]


def _round(services: Services, run: WeekRun) -> int:
    """1, or one more than the rounds that already ended with no pack at all."""
    return 1 + sum(1 for e in services.store.list_week(run.week_id, SHARED_ACCOUNT)
                   if e.kind is EventKind.RESEARCH_FAILURE and (e.subject == "" or e.subject.startswith("#")))


def _key(provider: str, round_: int) -> str:
    """The subject of a provider's events in a round (the first round keeps the bare provider id)."""
    return provider if round_ == 1 else f"{provider}#{round_}"


def _finished(services: Services, run: WeekRun, provider: str) -> Event | None:
    """The provider's pack or its failure: once either exists, the provider is done for the week."""
    store = services.store
    return store.get(run.week_id, SHARED_ACCOUNT, EventKind.RESEARCH_PACK, provider) or \
        store.get(run.week_id, SHARED_ACCOUNT, EventKind.RESEARCH_FAILURE, provider)


def _job(services: Services, run: WeekRun, provider: str) -> ResearchCall | None:
    """The provider's recorded start call, when it started a job that was still running."""
    start = services.store.get(run.week_id, SHARED_ACCOUNT, EventKind.RESEARCH_CALL, f"{provider}/start")
    call = ResearchCall.model_validate(start.payload) if start else None
    return call if call and call.state == "running" else None


def _fail(services: Services, run: WeekRun, provider: str | None, reason: str) -> Event:
    failure = ResearchFailure(week_id=run.week_id, provider=provider, reason=reason, timestamp=_now())
    return _append(services, run, EventKind.RESEARCH_FAILURE, failure, provider or "")


def _record(services: Services, run: WeekRun, provider: str, call: Literal["start", "check"], status: ResearchStatus,
            subject: str) -> None:
    """Keep the pack or the failure the call ended with, then the call itself for audit. In that order:
    a crash in between loses an audit record, never makes a rerun pay the provider twice."""
    if status.pack is not None:
        _append(services, run, EventKind.RESEARCH_PACK, status.pack, provider)
    elif status.state != "running":
        _fail(services, run, provider, status.error or f"{status.state} without a research pack")
    _append(services, run, EventKind.RESEARCH_CALL, ResearchCall(
        week_id=run.week_id, provider=provider, call=call, state=status.state, handle=status.handle,
        prompt=status.prompt, raw=status.raw, error=status.error, cost_usd=status.cost_usd, at=_now()), subject)


def _start(services: Services, run: WeekRun, provider: ResearchProvider, key: str) -> ResearchStatus:
    status = provider.start(run.week_id, run.asof)
    _record(services, run, key, "start", status, f"{key}/start")
    return status


def _check(services: Services, run: WeekRun, provider: ResearchProvider, job: ResearchCall,
           key: str) -> ResearchStatus:
    checks = [e for e in services.store.list_week(run.week_id, SHARED_ACCOUNT)
              if e.kind is EventKind.RESEARCH_CALL and e.subject.startswith(f"{key}/check-")]
    status = provider.check(run.week_id, run.asof, job.handle)
    minutes = services.settings.models.research.deadline_minutes
    if status.state == "running" and _now() >= job.at + timedelta(minutes=minutes):
        # Deep research has been seen stuck: past its deadline a job counts as failed.
        status = status.model_copy(update={"state": "failed", "error": (
            f"deadline passed: still running {minutes} minutes after its start at "
            f"{job.at.astimezone(UTC):%Y-%m-%d %H:%M} UTC")})
    _record(services, run, key, "check", status, f"{key}/check-{len(checks) + 1}")
    return status


def _advance(services: Services, run: WeekRun, providers: list[ResearchProvider], round_: int) -> list[str]:
    """Start the providers not started yet and check the running ones; the names still running."""
    running = []
    for provider in providers:
        key = _key(provider.name, round_)
        if _finished(services, run, key):
            continue
        job = _job(services, run, key)
        status = _check(services, run, provider, job, key) if job else _start(services, run, provider, key)
        if status.state == "running":
            running.append(provider.name)
    return running


def _packs(services: Services, run: WeekRun) -> list[Event]:
    return [e for e in services.store.list_week(run.week_id, SHARED_ACCOUNT) if e.kind is EventKind.RESEARCH_PACK]


def research_start(services: Services, run: WeekRun) -> dict[str, Any]:
    """Start every non-fallback provider that has not started yet; quick ones finish here."""
    round_ = _round(services, run)
    started = [p for p in _providers(services, fallback=False)
               if not _finished(services, run, _key(p.name, round_)) and not _job(services, run, _key(p.name, round_))]
    running = [p.name for p in started if _start(services, run, p, _key(p.name, round_)).state == "running"]
    return {"started": [p.name for p in started], "running": running}


def research_check(services: Services, run: WeekRun) -> dict[str, Any]:
    """Check the running jobs; once none runs, fall back if there is no pack, and fail if there still is none."""
    round_ = _round(services, run)
    running = _advance(services, run, _providers(services, fallback=False), round_)
    if not running and not _packs(services, run):
        running = _advance(services, run, _providers(services, fallback=True), round_)
    if running:
        return {"done": False, "running": running}
    if packs := _packs(services, run):
        return {"done": True, "research_packs": [e.event_id for e in packs]}
    keys = {_key(p.name, round_) for p in services.research}
    failures = [e.payload for e in services.store.list_week(run.week_id, SHARED_ACCOUNT)
                if e.kind is EventKind.RESEARCH_FAILURE and e.subject in keys]
    reason = "research produced no pack: " + ("; ".join(f"{f['provider']}: {f['reason']}" for f in failures)
                                              or "no research provider is configured")
    _append(services, run, EventKind.RESEARCH_FAILURE, ResearchFailure(
        week_id=run.week_id, provider=None, reason=reason, timestamp=_now()), "" if round_ == 1 else f"#{round_}")
    raise NoResearch(f"week {run.week_id}: {reason}; the council does not pitch without research (rerun the week "
                     "or redrive the execution once the providers answer: every provider is tried again)")
