"""What a decision was made with and how to check it later: the code version, the config's hash,
a seal's digest, and the walk `llmtrade verify` makes over the chained event log.

A chain is one (week, account)'s events in `chain_index` order (llmtrade.events): each link's hash
covers its envelope, its payload's canonical text and the hash before it, so changing, removing or
reordering any stored event breaks the chain at that link or the next one. Events stored before the
log was chained carry no link: they are counted as unchained, not as broken. A removed last link
leaves no trace in its chain; the week's seal names every decision event, so removing one of those
is still caught.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path

import llmtrade
from llmtrade.config import Settings
from llmtrade.domain.calendar import ET
from llmtrade.ports import EventStore
from llmtrade.schemas import (
    SHARED_ACCOUNT,
    Event,
    EventKind,
    Seal,
    UnreadableEvent,
    canonical_json,
)

# What a week decides on, fixed by its seal before the first order.
SEALED_KINDS = frozenset({EventKind.RESEARCH_PACK, EventKind.PITCH, EventKind.PEER_REVIEW,
                          EventKind.MODEL_FAILURE, EventKind.CHAIRMAN_DECISION})


@cache
def code_version() -> str:
    """llmtrade's version, with the build (LLMTRADE_BUILD_ID) or git commit when known."""
    build = os.environ.get("LLMTRADE_BUILD_ID") or _git_commit()
    return f"{llmtrade.__version__}+{build}" if build else llmtrade.__version__


def _git_commit() -> str:
    try:
        done = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], capture_output=True,
                              text=True, timeout=5, cwd=Path(llmtrade.__file__).parent)
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


def config_hash(settings: Settings) -> str:
    return hashlib.sha256(canonical_json(settings.model_dump(mode="json")).encode()).hexdigest()


def seal_digest(week_id: str, sealed_at: datetime, events: dict[str, str], config: str,
                code: str) -> str:
    body = {"week_id": week_id, "sealed_at": sealed_at.isoformat(), "events": events,
            "config_hash": config, "code_version": code}
    return hashlib.sha256(canonical_json(body).encode()).hexdigest()


def sealed_events(events: Iterable[Event]) -> dict[str, str]:
    """event id -> chain hash of the week's decision events."""
    return {e.event_id: e.chain_hash or "" for e in events if e.kind in SEALED_KINDS}


# --------------------------------------------------------------------------- forward only
def too_late(settings: Settings, scheduled: datetime, now: datetime) -> bool:
    """Past the scheduled moment by more than the grace (schedule.live_grace_hours)."""
    return now > scheduled + timedelta(hours=settings.schedule.live_grace_hours)


def forward_only_refusal(settings: Settings, offline: bool, scheduled: datetime,
                         now: datetime) -> str | None:
    """Why a live run must not decide at `now` for `scheduled` (it would decide with later news
    than its moment's), or None. Offline runs simulate any moment."""
    if offline or not too_late(settings, scheduled, now):
        return None
    return (f"a live run is forward-only: it was scheduled for "
            f"{scheduled.astimezone(ET):%Y-%m-%d %H:%M} ET, more than "
            f"{settings.schedule.live_grace_hours:g} h before now "
            f"({now.astimezone(ET):%Y-%m-%d %H:%M} ET); simulate a past week with --offline")


# --------------------------------------------------------------------------- verify
@dataclass(frozen=True)
class Broken:
    week_id: str
    account_id: str
    kind: str
    subject: str
    why: str

    def __str__(self) -> str:
        subject = f" {self.subject!r}" if self.subject else ""
        return (f"week {self.week_id}, account {self.account_id}, {self.kind}{subject}: "
                f"{self.why}")


@dataclass
class Verified:
    weeks: list[str] = field(default_factory=list)
    links: int = 0
    unchained: int = 0
    seals: int = 0
    broken: list[Broken] = field(default_factory=list)


def _broken(event: Event, why: str) -> Broken:
    return Broken(event.week_id, event.account_id, event.kind.value, event.subject, why)


def _chain_breaks(links: list[Event]) -> Broken | None:
    """The first link that is not what was written, in chain order."""
    previous = ""
    for expected, link in enumerate(sorted(links, key=lambda e: e.chain_index or 0), 1):
        if link.link_hash() != link.chain_hash:
            return _broken(link, "its content does not match its hash (changed after it was "
                                 "recorded)")
        if link.chain_index != expected or link.prev_hash != previous:
            return _broken(link, f"does not follow link {expected - 1} of its chain (a link "
                                 "before it was changed, removed or reordered)")
        previous = link.chain_hash or ""
    return None


def _seal_breaks(seal_event: Event, events: list[Event]) -> Broken | None:
    seal = Seal.model_validate(seal_event.payload)
    if seal_digest(seal.week_id, seal.sealed_at, seal.events, seal.config_hash,
                   seal.code_version) != seal.digest:
        return _broken(seal_event, "the seal's digest does not match what it seals")
    now = sealed_events(events)
    for event_id, link in seal.events.items():
        if now.get(event_id) != link:
            return _broken(seal_event, f"sealed event {event_id} was changed or removed")
    if extra := sorted(set(now) - set(seal.events)):
        return _broken(seal_event, f"{extra[0]} was recorded after the seal")
    return None


def unreadable(exc: UnreadableEvent) -> Broken:
    return Broken(exc.week_id, exc.account_id, exc.kind, exc.subject, exc.why)


def verify_week(store: EventStore, week_id: str, into: Verified) -> None:
    into.weeks.append(week_id)
    try:
        events = store.list_week(week_id)
    except UnreadableEvent as exc:
        into.broken.append(unreadable(exc))
        return
    for account_id in sorted({e.account_id for e in events}):
        _verify_chain([e for e in events if e.account_id == account_id], into)
    for seal_event in (e for e in events if e.kind is EventKind.SEAL):
        into.seals += 1
        if broken := _seal_breaks(seal_event, events):
            into.broken.append(broken)


def _verify_chain(chain: list[Event], into: Verified) -> None:
    """One account's events of the week: its links checked, the events written unchained counted."""
    links = [e for e in chain if e.chain_index is not None]
    into.links += len(links)
    into.unchained += len(chain) - len(links)
    if broken := _chain_breaks(links):
        into.broken.append(broken)


def stored_weeks(store: EventStore, account_ids: Iterable[str]) -> list[str]:
    """Every week with events of these accounts (or of the shared account)."""
    weeks: set[str] = set()
    for account_id in {SHARED_ACCOUNT, *account_ids}:
        weeks |= {e.week_id for e in store.list_account(account_id)}
    return sorted(weeks)


def verify(store: EventStore, weeks: Iterable[str]) -> Verified:
    verified = Verified()
    for week_id in weeks:
        verify_week(store, week_id, verified)
    return verified
