"""The cloud event store: one DynamoDB table, pk WEEK#<week_id>, sk <account>#<kind>#<subject>.

GSI `by_account` (gsi1pk ACCOUNT#<account>, gsi1sk <week_id>#<kind>#<subject>) reads one account
across weeks. Appends are conditional puts, so the same logical event is stored once. Payloads are
kept as JSON text (no float/Decimal conversion); a large one (an LLM call with every research pack
in its prompt) is stored zlib-compressed as binary, so the item stays under DynamoDB's 400 KB.
"""

from __future__ import annotations

import json
import zlib
from typing import Any

import boto3
from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from llmtrade.environment import ACCOUNT_INDEX
from llmtrade.schemas import Event, EventKind

COMPRESS_ABOVE = 64 * 1024  # bytes of JSON; JSON text compresses 5-10x


class DynamoDBEventStore:
    def __init__(self, table_name: str) -> None:
        self._table = boto3.resource("dynamodb").Table(table_name)

    @staticmethod
    def _pk(week_id: str) -> str:
        return f"WEEK#{week_id}"

    @staticmethod
    def _account_pk(account_id: str) -> str:
        return f"ACCOUNT#{account_id}"

    def append(self, event: Event) -> bool:
        item: dict[str, Any] = {
            "pk": self._pk(event.week_id),
            "sk": event.sort_key,
            "gsi1pk": self._account_pk(event.account_id),
            "gsi1sk": f"{event.week_id}#{event.kind.value}#{event.subject}",
            "event_id": event.event_id,
            "week_id": event.week_id,
            "account_id": event.account_id,
            "kind": event.kind.value,
            "subject": event.subject,
            "recorded_at": event.recorded_at.isoformat(),
        }
        payload = json.dumps(event.payload, sort_keys=True)
        if len(payload) > COMPRESS_ABOVE:
            item["payload_z"] = zlib.compress(payload.encode(), 9)
        else:
            item["payload"] = payload
        try:
            self._table.put_item(Item=item, ConditionExpression="attribute_not_exists(pk)")
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def get(self, week_id: str, account_id: str, kind: EventKind,
            subject: str = "") -> Event | None:
        probe = Event(week_id=week_id, account_id=account_id, kind=kind, subject=subject,
                      recorded_at="1970-01-01T00:00:00Z", payload={})
        item = self._table.get_item(Key={"pk": self._pk(week_id), "sk": probe.sort_key},
                                    ConsistentRead=True).get("Item")
        return _event(item) if item else None

    def list_week(self, week_id: str, account_id: str | None = None) -> list[Event]:
        condition = Key("pk").eq(self._pk(week_id))
        if account_id is not None:
            condition &= Key("sk").begins_with(f"{account_id}#")
        events = self._query(KeyConditionExpression=condition, ConsistentRead=True)
        return sorted(events, key=lambda e: e.time_order)

    def list_account(self, account_id: str, kind: EventKind | None = None) -> list[Event]:
        events = self._query(IndexName=ACCOUNT_INDEX,
                             KeyConditionExpression=Key("gsi1pk").eq(self._account_pk(account_id)))
        if kind is not None:
            events = [e for e in events if e.kind is kind]
        return sorted(events, key=lambda e: (e.week_id, *e.time_order))

    def _query(self, **kwargs: Any) -> list[Event]:
        events: list[Event] = []
        while True:
            page = self._table.query(**kwargs)
            events += [_event(item) for item in page["Items"]]
            if "LastEvaluatedKey" not in page:
                return events
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _event(item: dict[str, Any]) -> Event:
    text = (zlib.decompress(bytes(item["payload_z"])).decode() if "payload_z" in item
            else item["payload"])
    return Event(week_id=item["week_id"], account_id=item["account_id"],
                 kind=EventKind(item["kind"]), subject=item["subject"],
                 recorded_at=item["recorded_at"], payload=json.loads(text))

