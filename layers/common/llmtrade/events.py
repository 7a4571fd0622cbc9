"""The event log: the event store read and written by intent, payloads in and payloads out.

Steps and reports never build an `Event` envelope or validate a payload by hand: they record a
payload (its kind follows from its type, its time is stamped here, once) and ask for payloads of a
type. An event's id is (week, account, kind, subject), so recording the same fact twice stores it
once, and `recorded` is the "my event exists? then it is my result" rule that makes every step safe
to rerun.

`Week` answers the same questions from one read of a week (a step or a report that asks many).
A payload is validated once per event (`Payloads`): again only when a read hands out another
`Event` for that id (another read of a store that does not keep what it decoded, or a changed row).

Every recorded event is the next link of its (week, account) chain (schemas.envelope): one chain
per account and week because each account's steps run one after another, while the fan-outs write
different accounts at once, so each chain's order is the order its steps ran, whatever the threads
or Lambdas did. The log keeps the head of each chain it appended to or saw in a week it read, and
reads it from the store when it has none: a kept head is a stored link, never one ahead, so a head
that is behind (another writer, another process) takes a link that is taken, conflicts in the
store, and the log reads the head again, as two writers racing for one link do. A rerun continues
the chain it finds; a rerun of an event that exists stores nothing (the chain does not fork).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from llmtrade.ports import EventStore
from llmtrade.schemas import PAYLOAD_TYPES, Event, EventKind, payload_type_of

P = TypeVar("P", bound=BaseModel)

CHAIN_ATTEMPTS = 5  # writers of one chain racing for its next link: none is expected, a few are ok

# (module, class name) -> its kind: a type is known by where it is defined, so no payload module
# is imported to name a kind (the payload's own module is, since the type is in hand)
KIND_OF: dict[tuple[str, str], EventKind] = {
    where: kind for kind, where in PAYLOAD_TYPES.items()}


@cache
def kind_of(payload_type: type[BaseModel]) -> EventKind:
    """The event kind that carries this payload type (exactly: a subclass is another kind)."""
    kind = KIND_OF.get((payload_type.__module__, payload_type.__qualname__))
    if kind is None or payload_type_of(kind) is not payload_type:
        raise TypeError(f"{payload_type.__name__} is not an event payload")
    return kind


@dataclass(frozen=True)
class Entry(Generic[P]):
    """A stored payload with the envelope facts a step returns or sorts by."""

    event: Event
    payload: P
    new: bool = False  # True only on the `record` call that stored it

    @property
    def event_id(self) -> str:
        return self.event.event_id

    @property
    def subject(self) -> str:
        return self.event.subject

    @property
    def account_id(self) -> str:
        return self.event.account_id

    @property
    def recorded_at(self) -> datetime:
        return self.event.recorded_at


class Payloads:
    """Each event's payload validated once: kept by (event id, type) with the `Event` it came from,
    and validated again only for another `Event` of that id (a store decodes a row it did not keep,
    or a row that changed)."""

    def __init__(self) -> None:
        self._entries: dict[tuple[str, type[BaseModel]], Entry[Any]] = {}
        self.validated = 0  # what the reads cost (bench/bench_reads)

    def entry(self, event: Event, payload_type: type[P]) -> Entry[P]:
        key = (event.event_id, payload_type)
        held = self._entries.get(key)
        if held is not None and held.event is event:
            return held
        entry = Entry(event, payload_type.model_validate(event.payload))
        self._entries[key] = entry
        self.validated += 1
        return entry


class Week:
    """One read of a week's events (one account's, if asked), queried in memory, oldest first;
    `payloads` validates each payload once (the log's, shared by its reads)."""

    def __init__(self, events: Iterable[Event], payloads: Payloads | None = None,
                 scope: tuple[str, str | None] | None = None) -> None:
        self.events = list(events)
        self._entry = (payloads or Payloads()).entry
        self.scope = scope  # (week id, account id or None for all): what was read

    def entries(self, payload_type: type[P], account_id: str | None = None) -> list[Entry[P]]:
        kind = kind_of(payload_type)
        return [self._entry(e, payload_type) for e in self.events
                if e.kind is kind and (account_id is None or e.account_id == account_id)]

    def all(self, payload_type: type[P], account_id: str | None = None) -> list[P]:
        """Every payload of this type (one account's when given), oldest first."""
        return [entry.payload for entry in self.entries(payload_type, account_id)]

    def find(self, payload_type: type[P], account_id: str, subject: str = "") -> Entry[P] | None:
        kind = kind_of(payload_type)
        return next((self._entry(e, payload_type) for e in self.events
                     if e.kind is kind and e.account_id == account_id and e.subject == subject),
                    None)

    def get(self, payload_type: type[P], account_id: str, subject: str = "") -> P | None:
        entry = self.find(payload_type, account_id, subject)
        return entry.payload if entry else None

    def by_account(self, payload_type: type[P], subject: str | None = None) -> dict[str, P]:
        """account → its payload of this type (the last recorded, or the one with `subject`)."""
        return {entry.account_id: entry.payload for entry in self.entries(payload_type)
                if subject is None or entry.subject == subject}

    def by_subject(self, payload_type: type[P], account_id: str | None = None) -> dict[str, P]:
        return {entry.subject: entry.payload for entry in self.entries(payload_type, account_id)}

    def subjects(self, payload_type: type[P], account_id: str | None = None) -> set[str]:
        kind = kind_of(payload_type)
        return {e.subject for e in self.events
                if e.kind is kind and (account_id is None or e.account_id == account_id)}

    def has(self, payload_type: type[P], account_id: str | None = None) -> bool:
        kind = kind_of(payload_type)
        return any(e.kind is kind and (account_id is None or e.account_id == account_id)
                   for e in self.events)


class EventLog:
    """Record and read payloads; `clock` stamps `recorded_at` (UTC), once per recorded event."""

    def __init__(self, store: EventStore, clock: Callable[[], datetime] | None = None) -> None:
        self.store = store
        self._clock = clock or (lambda: datetime.now(UTC))
        self.payloads = Payloads()
        # (week, account) -> the last link this log appended: a stored link (module doc)
        self._heads: dict[tuple[str, str], tuple[int, str]] = {}
        # (week, account or None) -> the chains' heads as this log last read that week: stored
        # links too, so the first event a step records after reading its week reads no head
        self._heads_read: dict[tuple[str, str | None], dict[str, tuple[int, str]]] = {}
        # (week, account) -> the events this log stored there, oldest first (`week_now`)
        self._recorded: dict[tuple[str, str], list[Event]] = {}

    # ------------------------------------------------------------------ writing
    def record(self, payload: P, *, week_id: str, account_id: str, subject: str = "") -> Entry[P]:
        """Store the payload under (week, account, its kind, subject) unless that event exists.
        Returns the stored entry: this payload when it was new (`new`), else the one recorded
        before (a rerun)."""
        event = Event.of(payload, week_id=week_id, account_id=account_id,
                         kind=kind_of(type(payload)), subject=subject, recorded_at=self._clock())
        chain = (week_id, account_id)
        for _ in range(CHAIN_ATTEMPTS):
            head = self._head(week_id, account_id)
            link = event.chained(head[0] + 1, head[1])
            if self.store.append(link):
                self._heads[chain] = (head[0] + 1, link.chain_hash or "")
                self._recorded.setdefault(chain, []).append(link)
                return Entry(link, payload, new=True)
            self._heads.pop(chain, None)
            self._heads_read.pop((week_id, None), None)
            self._heads_read.pop(chain, None)
            if (held := self.find(type(payload), week_id, account_id, subject)) is not None:
                return held
            # not ours, so the link was taken by another writer of this chain: read the head again
        raise RuntimeError(f"week {week_id}, account {account_id}: {CHAIN_ATTEMPTS} writers raced "
                           "for the next link of its event chain")

    def _head(self, week_id: str, account_id: str) -> tuple[int, str]:
        """The chain's newest link this log knows of (appended or read), else the store's."""
        reads = (self._heads_read.get(scope) for scope in ((week_id, None), (week_id, account_id)))
        known = [heads.get(account_id, (0, "")) for heads in reads if heads is not None]
        if (appended := self._heads.get((week_id, account_id))) is not None:
            known.append(appended)
        if known:
            return max(known)
        return self.store.chain_head(week_id, account_id) or (0, "")

    def recorded(self, payload_type: type[P], week_id: str, account_id: str, subject: str = "",
                 *, otherwise: Callable[[], P]) -> Entry[P]:
        """The step's event if any (a rerun gets it untouched), else `otherwise()`, recorded."""
        if (held := self.find(payload_type, week_id, account_id, subject)) is not None:
            return held
        return self.record(otherwise(), week_id=week_id, account_id=account_id, subject=subject)

    # ------------------------------------------------------------------ reading
    def find(self, payload_type: type[P], week_id: str, account_id: str,
             subject: str = "") -> Entry[P] | None:
        event = self.store.get(week_id, account_id, kind_of(payload_type), subject)
        return self.payloads.entry(event, payload_type) if event is not None else None

    def get(self, payload_type: type[P], week_id: str, account_id: str,
            subject: str = "") -> P | None:
        entry = self.find(payload_type, week_id, account_id, subject)
        return entry.payload if entry else None

    def week(self, week_id: str, account_id: str | None = None) -> Week:
        """The week's events (one account's when given) in one read."""
        events = self.store.list_week(week_id, account_id)
        heads: dict[str, tuple[int, str]] = {}
        for event in events:
            if event.chain_index is not None:
                heads[event.account_id] = max(heads.get(event.account_id, (0, "")),
                                              (event.chain_index, event.chain_hash or ""))
        self._heads_read[(week_id, account_id)] = heads
        return Week(events, self.payloads, scope=(week_id, account_id))

    def week_now(self, week: Week) -> Week:
        """`week` (read by this log) and what this log has recorded in its scope since: a step that
        reads its week once and then records sees its own events without reading again. Another
        writer's events since the read are not in it: for a step that must see them, read again."""
        if week.scope is None:
            raise ValueError("week_now needs a week this log read (EventLog.week)")
        week_id, account_id = week.scope
        known = {event.event_id for event in week.events}
        added = [event for (w, a), events in self._recorded.items()
                 if w == week_id and account_id in (None, a)
                 for event in events if event.event_id not in known]
        return Week(week.events + added, self.payloads, scope=week.scope)

    def all(self, payload_type: type[P], week_id: str, account_id: str | None = None) -> list[P]:
        return self.week(week_id, account_id).all(payload_type)

    def history(self, payload_type: type[P], account_ids: str | Iterable[str]) -> list[P]:
        """These accounts' payloads of this type, across weeks oldest first, account by account."""
        ids = [account_ids] if isinstance(account_ids, str) else list(account_ids)
        kind = kind_of(payload_type)
        return [self.payloads.entry(e, payload_type).payload for account_id in ids
                for e in self.store.list_account(account_id, kind)]

    def history_entries(self, payload_type: type[P], account_id: str) -> list[Entry[P]]:
        return [self.payloads.entry(e, payload_type)
                for e in self.store.list_account(account_id, kind_of(payload_type))]

