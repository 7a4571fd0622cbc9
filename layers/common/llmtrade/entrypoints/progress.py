"""The progress line a long CLI run shows on stderr: the step it is at, from the events it newly
stores.

Only decoration: without a terminal or without rich (an extra the Lambda layer leaves out) it is
nothing."""

from __future__ import annotations

import dataclasses
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from llmtrade.domain.calendar import ET
from llmtrade.ports import EventStore
from llmtrade.schemas import Event, EventKind
from llmtrade.services import Services


class _ObservedStore:
    """The run's event store, telling `seen` about every event it newly stores (the steps'
    progress)."""

    def __init__(self, store: EventStore, seen: Callable[[Event], None]) -> None:
        self._store, self._seen = store, seen

    def append(self, event: Event) -> bool:
        added = self._store.append(event)
        if added:
            self._seen(event)
        return added

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


class Progress:
    """A status line on stderr (rich) naming the step a run is at; `stage` sets what the run is
    doing."""

    def __init__(self, status: Any) -> None:
        self._status, self._stage, self._lock = status, "", threading.Lock()

    def stage(self, text: str) -> None:
        with self._lock:
            self._stage = text
            if self._status is not None:
                self._status.update(text)

    def seen(self, event: Event) -> None:
        if self._status is None:
            return
        what = event.kind.value.replace("_", " ")
        subject = event.subject if event.kind is EventKind.CHECKPOINT_UPDATE else ""
        at = f" {datetime.fromisoformat(subject).astimezone(ET):%a %H:%M}" if subject else ""
        with self._lock:
            self._status.update(f"{self._stage} · {what}{at} · {event.account_id}")


class NewEvents:
    """How many events a run newly stored itself: counting the store's rows before and after would
    include another process's run of the same data dir."""

    def __init__(self) -> None:
        self.count, self._lock = 0, threading.Lock()

    def seen(self, _: Event) -> None:
        with self._lock:
            self.count += 1


def counted(services: Services) -> tuple[Services, NewEvents]:
    """Services whose newly stored events are counted."""
    new = NewEvents()
    return dataclasses.replace(services, store=_ObservedStore(services.store, new.seen)), new


def _console() -> Any:
    """rich's console on stderr, or None without rich (the `cli` extra's: a run then shows no
    status line)."""
    try:
        from rich.console import Console
    except ImportError:
        return None
    return Console(stderr=True)


@contextmanager
def progress(services: Services, enabled: bool) -> Iterator[tuple[Services, Progress]]:
    """Services whose new events update a status line on stderr, when enabled, stderr is a
    terminal and rich is installed."""
    console = _console() if enabled and sys.stderr.isatty() else None
    if console is None:
        yield services, Progress(None)
        return
    with console.status("starting") as status:
        shown = Progress(status)
        yield (dataclasses.replace(services, store=_ObservedStore(services.store, shown.seen)),
               shown)
