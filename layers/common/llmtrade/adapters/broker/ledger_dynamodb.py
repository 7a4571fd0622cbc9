"""The simulated broker's order ledger in the event table, apart from the events.

Same table as the events (the one table infra gives the functions, whose grants already cover
GetItem/PutItem/Query), its own partitions: pk SIMBROKER#<account>, sk ORDER#<client_order_id>.
No account index attributes, so ledger items never show in the events' index. Adds are conditional
puts (a record is stored once); reads are strongly consistent base-table queries of one partition
(an index could still show a cancelled order as open). Records sort as they were added:
recorded_at, then client_order_id.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import boto3
from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from llmtrade.environment import TABLE_KEYS
from llmtrade.schemas import BrokerOrder

PK, SK = TABLE_KEYS
PREFIX = "SIMBROKER#"


class DynamoDBOrderLedger:
    def __init__(self, table_name: str) -> None:
        self._table = boto3.resource("dynamodb").Table(table_name)

    def add(self, account_id: str, order: BrokerOrder) -> bool:
        item = {PK: f"{PREFIX}{account_id}", SK: f"ORDER#{order.client_order_id}",
                "recorded_at": datetime.now(UTC).isoformat(), "record": order.model_dump_json()}
        try:
            self._table.put_item(Item=item, ConditionExpression=f"attribute_not_exists({PK})")
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def orders(self, account_id: str) -> list[BrokerOrder]:
        query: dict[str, Any] = {"KeyConditionExpression": Key(PK).eq(f"{PREFIX}{account_id}"),
                                 "ConsistentRead": True}
        items: list[dict[str, Any]] = []
        while True:
            page = self._table.query(**query)
            items += page["Items"]
            if "LastEvaluatedKey" not in page:
                break
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        items.sort(key=lambda item: (item["recorded_at"], item[SK]))
        return [BrokerOrder.model_validate_json(item["record"]) for item in items]
