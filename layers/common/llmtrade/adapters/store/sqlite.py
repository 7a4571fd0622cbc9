"""The embedded event store: the local default, with the same contract as DynamoDB."""

from __future__ import annotations

import errno
import json
import sqlite3
import threading
from pathlib import Path

from llmtrade.ports import StoreUnavailable
from llmtrade.schemas import Event, EventKind


def _why(exc: Exception, path: Path | str) -> str:
    text = str(exc)
    exists = str(path) != ":memory:" and Path(path).is_file()
    if isinstance(exc, (FileExistsError, NotADirectoryError)):
        return "the data dir is a file, not a folder"
    if "not a database" in text or "malformed" in text:
        return "not a readable llmtrade event store (corrupt, or another kind of file)"
    if "full" in text or getattr(exc, "errno", None) == errno.ENOSPC:
        return "the disk is full: free some space, then run the command again"
    if ("readonly" in text or "read-only" in text or isinstance(exc, PermissionError)
            or (exists and "unable to open" in text)):
        return ("the event store is read-only (a read-only disk, or the file's or the folder's "
                "permissions): the commands that only read it still work")
    if "locked" in text:
        return "the event store is locked by another process (is another llmtrade run going on?)"
    if "no such table" in text or "unable to open" in text:
        return "no event store there (nothing has been run with this data dir)"
    return text


def _open_to_read(path: Path | str, table: str) -> sqlite3.Connection:
    """An existing database, read-only. A WAL database on a read-only disk cannot be opened
    read-only (SQLite must create its -shm file): it is then opened as immutable, which on a disk
    nobody can write is what it is."""
    file = Path(path).resolve()
    if not file.is_file():
        raise sqlite3.OperationalError("unable to open database file")
    try:
        db = sqlite3.connect(f"file:{file}?mode=ro", uri=True, check_same_thread=False,
                             isolation_level=None)
        db.execute(f"SELECT count(*) FROM {table}").fetchone()
    except sqlite3.OperationalError as exc:
        if "unable to open" not in str(exc) and "readonly" not in str(exc):
            raise
        db = sqlite3.connect(f"file:{file}?immutable=1", uri=True, check_same_thread=False,
                             isolation_level=None)
        db.execute(f"SELECT count(*) FROM {table}").fetchone()
    return db

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


def open_database(path: Path | str, schema: str, table: str, *, read_only: bool = False,
                  busy_timeout_s: float = 5.0) -> sqlite3.Connection:
    """One connection (shared by the runner's threads: serialize its use) to a database holding
    `table`, created from `schema` when writable. A database that cannot be used fails here, before
    any step runs, with StoreUnavailable saying why. `read_only` opens an existing file to read."""
    try:
        if read_only:
            return _open_to_read(path, table)
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None,
                             timeout=busy_timeout_s)
        db.execute("PRAGMA journal_mode=WAL")
        db.executescript(schema + "\nCREATE TABLE IF NOT EXISTS write_probe (x INTEGER);")
        # a write that is rolled back: a read-only or locked store shows now, not after research
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute("INSERT INTO write_probe VALUES (1)")
        finally:
            db.execute("ROLLBACK")
        return db
    except (sqlite3.Error, OSError) as exc:
        raise StoreUnavailable(f"{path}: {_why(exc, path)}") from exc


class SqliteEventStore:
    def __init__(self, path: Path | str, *, read_only: bool = False,
                 busy_timeout_s: float = 5.0) -> None:
        """Opens (creating when writable) the store; a store that cannot be used fails here, before
        any step runs, with StoreUnavailable saying why. `read_only` opens an existing file for
        listing only."""
        self._lock = threading.Lock()
        self._db = open_database(path, _SCHEMA, "events", read_only=read_only,
                                 busy_timeout_s=busy_timeout_s)

    def append(self, event: Event) -> bool:
        with self._lock:
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO events (event_id, week_id, account_id, kind, subject,"
                " recorded_at, payload) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (event.event_id, event.week_id, event.account_id, event.kind.value,
                 event.subject, event.recorded_at.isoformat(),
                 json.dumps(event.payload, sort_keys=True)),
            )
            return cursor.rowcount == 1

    def get(self, week_id: str, account_id: str, kind: EventKind,
            subject: str = "") -> Event | None:
        rows = self._select(
            "week_id = ? AND account_id = ? AND kind = ? AND subject = ?",
            (week_id, account_id, kind.value, subject),
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

    def _select(self, where: str, params: tuple[object, ...]) -> list[Event]:
        with self._lock:
            rows = self._db.execute(
                f"SELECT week_id, account_id, kind, subject, recorded_at, payload FROM events"
                f" WHERE {where}",
                params,
            ).fetchall()
        events = [
            Event(week_id=w, account_id=a, kind=EventKind(k), subject=s, recorded_at=r,
                  payload=json.loads(p))
            for w, a, k, s, r, p in rows
        ]
        return sorted(events, key=lambda e: e.time_order)

    def close(self) -> None:
        self._db.close()
