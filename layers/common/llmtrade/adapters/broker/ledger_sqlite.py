"""The simulated broker's order ledger in a local SQLite file (the data dir's sim_broker.sqlite).

One row per (account, client_order_id), inserted once and never updated; rows are read in the
order they were added (recorded_at, then client_order_id), as the DynamoDB ledger reads them.
"""

from __future__ import annotations

import threading
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


class SqliteOrderLedger:
    def __init__(self, path: Path | str, *, read_only: bool = False) -> None:
        self._lock = threading.Lock()
        self._db = open_database(path, _SCHEMA, "orders", read_only=read_only)

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
            rows = self._db.execute("SELECT record FROM orders WHERE account_id = ?"
                                    " ORDER BY recorded_at, client_order_id",
                                    (account_id,)).fetchall()
        return [BrokerOrder.model_validate_json(record) for (record,) in rows]

    def close(self) -> None:
        self._db.close()
