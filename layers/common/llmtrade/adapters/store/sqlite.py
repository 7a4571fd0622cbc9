"""The embedded event store: the local default, with the same contract as DynamoDB.

Reads go by week (and account, kind, subject): the `events_by_week` index, which a store made before
it gets when opened to write. A row is decoded once: the store keeps each row it decoded with its
event, and hands that event out again while the row reads back the same (rows are never changed;
a changed one is decoded, and checked, afresh).
"""

from __future__ import annotations

import errno
import sqlite3
import threading
from pathlib import Path

from llmtrade.ports import StoreUnavailable
from llmtrade.schemas import Event, EventKind, canonical_json, payload_from_text

# seq, week_id, account_id, kind, subject, recorded_at, payload, chain_index, prev_hash, chain_hash
Row = tuple[int, str, str, str, str, str, str, int | None, str | None, str | None]


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
    payload TEXT NOT NULL,
    chain_index INTEGER,
    prev_hash TEXT,
    chain_hash TEXT
);
CREATE INDEX IF NOT EXISTS events_by_account ON events (account_id, week_id);
CREATE INDEX IF NOT EXISTS events_by_week ON events (week_id, account_id, kind, subject);
"""
CHAIN_COLUMNS = {"chain_index": "INTEGER", "prev_hash": "TEXT", "chain_hash": "TEXT"}


def _chain_columns(db: sqlite3.Connection, writable: bool) -> bool:
    """A store made before the log was chained gets the chain columns (its events stay unchained);
    one link per (week, account, chain_index). False: an old store opened read-only, no columns."""
    present = {row[1] for row in db.execute("PRAGMA table_info(events)")}
    if not writable:
        return set(CHAIN_COLUMNS) <= present
    for column, sql_type in CHAIN_COLUMNS.items():
        if column not in present:
            db.execute(f"ALTER TABLE events ADD COLUMN {column} {sql_type}")
    # NULLs are distinct here: the unchained events of an old store do not collide
    db.execute("CREATE UNIQUE INDEX IF NOT EXISTS events_chain"
               " ON events (week_id, account_id, chain_index)")
    return True


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
        self._decoded: dict[int, tuple[Row, Event]] = {}  # seq -> the row and its event
        self.decoded = 0  # rows decoded: what the reads cost beyond fetching (bench/bench_reads)
        with self._lock:
            self._chained = _chain_columns(self._db, writable=not read_only)

    def append(self, event: Event) -> bool:
        with self._lock:
            # OR IGNORE: a taken id (a rerun) or a taken chain link (another writer) stores nothing
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO events (event_id, week_id, account_id, kind, subject,"
                " recorded_at, payload, chain_index, prev_hash, chain_hash)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (event.event_id, event.week_id, event.account_id, event.kind.value,
                 event.subject, event.recorded_at.isoformat(), canonical_json(event.payload),
                 event.chain_index, event.prev_hash, event.chain_hash),
            )
            return cursor.rowcount == 1

    def chain_head(self, week_id: str, account_id: str) -> tuple[int, str] | None:
        if not self._chained:
            return None
        with self._lock:
            row = self._db.execute(
                "SELECT chain_index, chain_hash FROM events WHERE week_id = ? AND account_id = ?"
                " AND chain_index IS NOT NULL ORDER BY chain_index DESC LIMIT 1",
                (week_id, account_id)).fetchone()
        return (int(row[0]), str(row[1])) if row else None

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
        chain = ("chain_index, prev_hash, chain_hash" if self._chained
                 else "NULL, NULL, NULL")
        with self._lock:
            rows: list[Row] = self._db.execute(
                f"SELECT seq, week_id, account_id, kind, subject, recorded_at, payload, {chain}"
                f" FROM events WHERE {where}",
                params,
            ).fetchall()
            events = [self._event(row) for row in rows]
        return sorted(events, key=lambda e: e.time_order)

    def _event(self, row: Row) -> Event:
        held = self._decoded.get(row[0])
        if held is not None and held[0] == row:
            return held[1]
        _, w, a, k, s, r, p, index, prev, link = row
        event = Event(week_id=w, account_id=a, kind=EventKind(k), subject=s, recorded_at=r,
                      payload=payload_from_text(p, w, a, k, s), chain_index=index,
                      prev_hash=prev, chain_hash=link)
        self._decoded[row[0]] = (row, event)
        self.decoded += 1
        return event

    def close(self) -> None:
        self._db.close()
