"""Read and write units of the DynamoDB requests a client makes, counted from the requests and
answers themselves (moto answers every request with 1 capacity unit, so its ConsumedCapacity is no
measure). DynamoDB's on-demand rules: an item's size is its attribute names plus values; a write
costs 1 unit per KB of the item (2 in a transaction), plus the index's write when the item carries
the index keys (a keys-only index item: its keys + 100 bytes); a strongly consistent read 1 unit
per 4 KB (eventually consistent: half), a query over the sum of what it returns, a get or batch get
per item, at least 1 (half) per request."""

from __future__ import annotations

import base64
import json
import math
from collections import Counter
from typing import Any

from llmtrade.environment import ACCOUNT_INDEX_KEYS, TABLE_KEYS

INDEX_ITEM_OVERHEAD = 100  # bytes DynamoDB adds to each index item


def _value_size(value: dict[str, Any]) -> int:
    (kind, inner), = value.items()
    if kind == "S":
        return len(inner.encode())
    if kind == "B":
        return len(base64.b64decode(inner))
    if kind == "N":
        return len(inner.lstrip("-").replace(".", "")) // 2 + 1
    if kind == "M":
        return 3 + sum(len(k.encode()) + _value_size(v) for k, v in inner.items())
    if kind == "L":
        return 3 + sum(_value_size(v) + 1 for v in inner)
    return 1  # BOOL, NULL


def item_size(item: dict[str, Any]) -> int:
    return sum(len(name.encode()) + _value_size(value) for name, value in item.items())


def _index_write(item: dict[str, Any]) -> int:
    keys = (*TABLE_KEYS, *ACCOUNT_INDEX_KEYS)
    if not all(key in item for key in ACCOUNT_INDEX_KEYS):
        return 0  # not in the index (a ledger record, a chain marker)
    size = sum(len(k) + _value_size(item[k]) for k in keys) + INDEX_ITEM_OVERHEAD
    return math.ceil(size / 1024)


def _read_units(sizes: list[int], consistent: bool, per_item: bool) -> float:
    factor = 1.0 if consistent else 0.5
    if per_item:
        return factor * max(1, sum(max(1, math.ceil(s / 4096)) for s in sizes))
    return factor * max(1, math.ceil(sum(sizes) / 4096))


class Meter:
    """Attach to boto3 clients; `reads`, `writes` (units) and `requests` (per operation) add up."""

    def __init__(self) -> None:
        self.reads = 0.0
        self.writes = 0.0
        self.requests: Counter[str] = Counter()
        self.transactions = 0

    def attach(self, client: Any) -> None:
        client.meta.events.register("before-call.dynamodb", self._before)
        # first: before the resource layer turns the typed answer into Python values
        client.meta.events.register_first("after-call.dynamodb", self._after)

    @staticmethod
    def _before(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["request_body"] = json.loads(params["body"] or b"{}")

    def _after(self, parsed: dict[str, Any], model: Any, context: dict[str, Any],
               **_: Any) -> None:
        request, operation = context.get("request_body", {}), model.name
        self.requests[operation] += 1
        if operation == "PutItem":
            item = request["Item"]
            self.writes += math.ceil(item_size(item) / 1024) + _index_write(item)
        elif operation == "TransactWriteItems":
            self.transactions += 1
            for put in (entry["Put"]["Item"] for entry in request["TransactItems"]):
                self.writes += 2 * math.ceil(item_size(put) / 1024) + _index_write(put)
        elif operation == "Query":
            self.reads += _read_units([item_size(i) for i in parsed.get("Items", [])],
                                      request.get("ConsistentRead", False), per_item=False)
        elif operation == "GetItem":
            found = parsed.get("Item")
            self.reads += _read_units([item_size(found)] if found else [],
                                      request.get("ConsistentRead", False), per_item=True)
        elif operation == "BatchGetItem":
            for table, items in parsed.get("Responses", {}).items():
                consistent = request["RequestItems"][table].get("ConsistentRead", False)
                self.reads += _read_units([item_size(i) for i in items], consistent,
                                          per_item=True)
