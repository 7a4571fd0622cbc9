"""The simulated broker's order ledger in a local SQLite file (the data dir's sim_broker.sqlite).

One row per (account, client_order_id), inserted once and never updated; rows are read in the
order they were added (their rowid: the table is append-only, nothing is ever deleted, so a new
row's rowid is above every earlier one's).

Each account's records are read from the file once and then kept: a later read asks only for the
rows added after the last one it holds (`rowid > last`, a range of the table's own key), so
another connection's or process's adds are seen and a read costs what was added since, not the
whole history. Records are immutable (frozen models), so the kept ones are handed out as they are.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from llmtrade.adapters.store.sqlite import open_database
from llmtrade.schemas import BrokerOrder

_SCHEMA = """
CREATE TABLE IF NOT EXISTS orders (
    account_id TEXT NOT NULL,
    client_order_id TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    record TEXT NOT NULL,
    PRIMARY KEY (account_id, client_order_id)
);
"""


@dataclass
class _Kept:
    last_rowid: int = 0
    records: list[BrokerOrder] = field(default_factory=list)


class SqliteOrderLedger:
    def __init__(self, path: Path | str, *, read_only: bool = False) -> None:
        self._lock = threading.Lock()
        self._db = open_database(path, _SCHEMA, "orders", read_only=read_only)
        self._kept: dict[str, _Kept] = {}

    def add(self, account_id: str, order: BrokerOrder) -> bool:
        with self._lock:
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO orders (account_id, client_order_id, recorded_at, record)"
                " VALUES (?, ?, ?, ?)",
                (account_id, order.client_order_id, datetime.now(UTC).isoformat(),
                 order.model_dump_json()))
            return cursor.rowcount == 1

    def orders(self, account_id: str) -> list[BrokerOrder]:
        with self._lock:
            kept = self._kept.setdefault(account_id, _Kept())
            # `+account_id`: search the rowid range (what was added since), not the account's
            # whole key range
            rows = self._db.execute("SELECT rowid, record FROM orders"
                                    " WHERE rowid > ? AND +account_id = ? ORDER BY rowid",
                                    (kept.last_rowid, account_id)).fetchall()
            if rows:
                kept.last_rowid = rows[-1][0]
                kept.records += [BrokerOrder.model_validate_json(record) for _, record in rows]
            return list(kept.records)

    def close(self) -> None:
        self._db.close()
