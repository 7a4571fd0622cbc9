"""The simulated broker's order ledger in the event table, apart from the events.

Same table as the events (the one table infra gives the functions, whose grants already cover
GetItem/PutItem/Query), its own partitions: pk SIMBROKER#<account>, sk SEQ#<n> (n zero-padded: the
account's n-th record, from 0). No account index attributes, so ledger items never show in the
events' index, and the index holds none of their writes.

A record takes the next free slot with a conditional put, so slots are never overwritten and no two
records share one. An account's records are read once (one strongly consistent query of the whole
partition, legacy records and slots together) and kept; every later read asks only for the slots
after the last one held (a key condition `sk > SEQ#<last>`), so it costs what was added since, not
the whole history, and still sees every record another process or Lambda added. `add` puts into
the slot after the last it holds, without reading first; when that slot is taken (another writer
got there first) it reads the slots it missed and tries the next one. A put succeeds only in the
slot after every slot it has read, so its client_order_id was checked against every earlier
record: a record is stored once per (account, client_order_id). One write unit per record (no
transaction, no read).

Ledgers written before the slots (sk ORDER#<client_order_id>, by recorded_at) are read too, before
the slots, in their own order (recorded_at, then client_order_id): they were all added first.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from llmtrade.adapters.store.dynamodb import plain_client, query_items
from llmtrade.environment import TABLE_KEYS
from llmtrade.schemas import BrokerOrder

PK, SK = TABLE_KEYS
PREFIX = "SIMBROKER#"
SLOT, LEGACY = "SEQ#", "ORDER#"


def _slot(index: int) -> str:
    return f"{SLOT}{index:010d}"


@dataclass
class _Kept:
    slots: int = -1  # records in slots read so far (-1: the partition not read yet)
    records: list[BrokerOrder] = field(default_factory=list)
    client_ids: set[str] = field(default_factory=set)


class DynamoDBOrderLedger:
    def __init__(self, table_name: str, client: Any = None) -> None:
        """`client`: a `plain_client()` to share (the event store's); a new one by default."""
        self._client = client or plain_client()
        self._table_name = table_name
        self._lock = threading.Lock()
        self._kept: dict[str, _Kept] = {}

    def add(self, account_id: str, order: BrokerOrder) -> bool:
        with self._lock:
            kept = self._kept.get(account_id) or self._caught_up(account_id)
            while order.client_order_id not in kept.client_ids:
                item = {PK: f"{PREFIX}{account_id}", SK: _slot(kept.slots),
                        "recorded_at": datetime.now(UTC).isoformat(),
                        "record": order.model_dump_json()}
                try:
                    self._client.put_item(TableName=self._table_name, Item=item,
                                          ConditionExpression=f"attribute_not_exists({PK})")
                except ClientError as exc:
                    if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                        raise
                    kept = self._caught_up(account_id)  # another writer took the slot
                    continue
                self._keep(kept, [order])
                kept.slots += 1
                return True
            return False

    def orders(self, account_id: str) -> list[BrokerOrder]:
        with self._lock:
            return list(self._caught_up(account_id).records)

    def _caught_up(self, account_id: str) -> _Kept:
        kept = self._kept.setdefault(account_id, _Kept())
        partition = Key(PK).eq(f"{PREFIX}{account_id}")
        if kept.slots < 0:  # the whole partition in one query: legacy records, then the slots
            items = self._query(partition)
            legacy = [item for item in items if item[SK].startswith(LEGACY)]
            legacy.sort(key=lambda item: (item["recorded_at"], item[SK]))
            self._keep(kept, legacy)
            kept.slots = 0
            new = [item for item in items if item[SK].startswith(SLOT)]
        elif kept.slots == 0:
            new = self._query(partition & Key(SK).begins_with(SLOT))
        else:
            new = self._query(partition & Key(SK).gt(_slot(kept.slots - 1)))
        self._keep(kept, new)
        kept.slots += len(new)
        return kept

    def _query(self, condition: Any) -> list[dict[str, Any]]:
        return query_items(self._client, TableName=self._table_name,
                           KeyConditionExpression=condition, ConsistentRead=True)

    @staticmethod
    def _keep(kept: _Kept, records: list[BrokerOrder] | list[dict[str, Any]]) -> None:
        for record in records:
            order = (record if isinstance(record, BrokerOrder)
                     else BrokerOrder.model_validate_json(record["record"]))
            kept.records.append(order)
            kept.client_ids.add(order.client_order_id)
