"""The embedded event store: the local default, with the same contract as DynamoDB."""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path

from llmtrade.schemas import Event, EventKind

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL UNIQUE,
    week_id TEXT NOT NULL,
    account_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    payload TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_account ON events (account_id, week_id);
"""


class SqliteEventStore:
    def __init__(self, path: Path | str) -> None:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # One connection shared by the runner's threads, serialized by a lock.
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()

    def append(self, event: Event) -> bool:
        with self._lock:
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO events (event_id, week_id, account_id, kind, subject, recorded_at,"
                " payload) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (event.event_id, event.week_id, event.account_id, event.kind.value, event.subject,
                 event.recorded_at.isoformat(), json.dumps(event.payload, sort_keys=True)),
            )
            return cursor.rowcount == 1

    def get(self, week_id: str, account_id: str, kind: EventKind, subject: str = "") -> Event | None:
        rows = self._select(
            "week_id = ? AND account_id = ? AND kind = ? AND subject = ?", (week_id, account_id, kind.value, subject)
        )
        return rows[0] if rows else None

    def list_week(self, week_id: str, account_id: str | None = None) -> list[Event]:
        if account_id is None:
            return self._select("week_id = ?", (week_id,))
        return self._select("week_id = ? AND account_id = ?", (week_id, account_id))

    def list_account(self, account_id: str, kind: EventKind | None = None) -> list[Event]:
        if kind is None:
            events = self._select("account_id = ?", (account_id,))
        else:
            events = self._select("account_id = ? AND kind = ?", (account_id, kind.value))
        return sorted(events, key=lambda e: (e.week_id, *e.time_order))

    def _select(self, where: str, params: tuple) -> list[Event]:
        with self._lock:
            rows = self._db.execute(
                f"SELECT week_id, account_id, kind, subject, recorded_at, payload FROM events"
                f" WHERE {where}",
                params,
            ).fetchall()
        events = [
            Event(week_id=w, account_id=a, kind=EventKind(k), subject=s, recorded_at=r, payload=json.loads(p))
            for w, a, k, s, r, p in rows
        ]
        return sorted(events, key=lambda e: e.time_order)

    def close(self) -> None:
        self._db.close()
