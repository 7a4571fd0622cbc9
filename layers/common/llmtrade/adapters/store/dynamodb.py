"""The cloud event store: one DynamoDB table, pk WEEK#<week_id>, sk <account>#<kind>#<subject>.

GSI `by_account_kind` (gsi1pk ACCOUNT#<account>, sort key the item's `kind`) lists one account's
events across weeks, of one kind by a key condition (a history read reads only that kind). It
projects the keys only (an index item is ~100 bytes, where a whole event is a few KB: every event
write would be paid twice, and stored twice); `list_account` then reads the events it lists from
the table with strongly consistent BatchGetItem, 1 read unit per event of up to 4 KB (measured in
bench/bench_cost.py: the history reads are a few events per week, the writes every event). Items
written before this index carry a gsi1sk too (<week_id>#<kind>#<subject>): it is ignored, and they
are indexed by their `kind` like every other (an index built on an existing table takes in every
item with its key attributes).

Appends are conditional puts, so the same logical event is stored once. Payloads are kept as JSON
text (no float/Decimal conversion); a large one (an LLM call with every research pack in its
prompt) is stored zlib-compressed as binary, so the item stays under DynamoDB's 400 KB.

A chained event is written in one transaction with its link marker (pk CHAIN#<week>#<account>,
sk its zero-padded chain_index, no index attributes, so never listed as an event): the marker's
conditional put refuses a second writer of the same link, the event's a second write of the event.
The transaction costs twice the write units of the two puts (~2x a plain put of the event, the
marker being small) and is kept: the two guarantees need two keys (the link's and the event's), and
two separate puts would leave, on a crash or a refusal between them, a link without its event (the
chain broken for every later writer) or an event without its link (a rerun that stores something).
Only the chained events pay it (bench/bench_cost.py counts them).
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable
from typing import Any

import boto3
from boto3.dynamodb.conditions import Key
from boto3.dynamodb.transform import TransformationInjector, copy_dynamodb_params
from botocore.exceptions import ClientError

from llmtrade.environment import ACCOUNT_INDEX, ACCOUNT_INDEX_KEYS
from llmtrade.schemas import Event, EventKind, UnreadableEvent, canonical_json, payload_from_text

COMPRESS_ABOVE = 64 * 1024  # bytes of JSON; JSON text compresses 5-10x
BATCH_GET_LIMIT = 100  # keys per BatchGetItem
UNPROCESSED_ATTEMPTS = 8  # BatchGetItem calls for one batch whose keys come back unprocessed


def plain_client() -> Any:
    """A DynamoDB client of boto3's default session that takes and gives plain values (str, int,
    Decimal, bytes) and `Key(...)` conditions, as boto3's Table resource does: the resource's own
    handlers, registered on the client. A cold start does not load the resource model nor create
    a second client (~20 ms)."""
    client = boto3.client("dynamodb")
    events, injector = client.meta.events, TransformationInjector()
    # in the order the resource registers them: copy the caller's parameters (the handlers edit
    # them in place), build the condition expressions, then serialize every value
    events.register("provide-client-params.dynamodb", copy_dynamodb_params,
                    unique_id="dynamodb-create-params-copy")
    events.register("before-parameter-build.dynamodb", injector.inject_condition_expressions,
                    unique_id="dynamodb-condition-expression")
    events.register("before-parameter-build.dynamodb", injector.inject_attribute_value_input,
                    unique_id="dynamodb-attr-value-input")
    events.register("after-call.dynamodb", injector.inject_attribute_value_output,
                    unique_id="dynamodb-attr-value-output")
    return client


class DynamoDBEventStore:
    def __init__(self, table_name: str, client: Any = None) -> None:
        """`client`: a `plain_client()` to share (the order ledger's); a new one by default."""
        self._client = client or plain_client()
        self._table_name = table_name
        self._sleep: Callable[[float], None] = time.sleep  # tests pause nothing

    @staticmethod
    def _pk(week_id: str) -> str:
        return f"WEEK#{week_id}"

    @staticmethod
    def _account_pk(account_id: str) -> str:
        return f"ACCOUNT#{account_id}"

    @staticmethod
    def _chain_pk(week_id: str, account_id: str) -> str:
        return f"CHAIN#{week_id}#{account_id}"

    def append(self, event: Event) -> bool:
        item: dict[str, Any] = {
            "pk": self._pk(event.week_id),
            "sk": event.sort_key,
            "gsi1pk": self._account_pk(event.account_id),
            "event_id": event.event_id,
            "week_id": event.week_id,
            "account_id": event.account_id,
            "kind": event.kind.value,
            "subject": event.subject,
            "recorded_at": event.recorded_at.isoformat(),
        }
        payload = canonical_json(event.payload)
        if len(payload) > COMPRESS_ABOVE:
            item["payload_z"] = zlib.compress(payload.encode(), 9)
        else:
            item["payload"] = payload
        if event.chain_index is not None:
            return self._append_link(event, item)
        try:
            self._client.put_item(TableName=self._table_name, Item=item,
                                  ConditionExpression="attribute_not_exists(pk)")
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def _append_link(self, event: Event, item: dict[str, Any]) -> bool:
        item |= {"chain_index": event.chain_index, "prev_hash": event.prev_hash,
                 "chain_hash": event.chain_hash}
        marker = {"pk": self._chain_pk(event.week_id, event.account_id),
                  "sk": f"{event.chain_index:010d}", "chain_hash": event.chain_hash,
                  "event_id": event.event_id}
        puts = [{"Put": {"TableName": self._table_name, "Item": put,
                         "ConditionExpression": "attribute_not_exists(pk)"}}
                for put in (item, marker)]
        try:
            self._client.transact_write_items(TransactItems=puts)
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "TransactionCanceledException":
                return False
            raise
        return True

    def chain_head(self, week_id: str, account_id: str) -> tuple[int, str] | None:
        page = self._client.query(
            TableName=self._table_name,
            KeyConditionExpression=Key("pk").eq(self._chain_pk(week_id, account_id)),
            ScanIndexForward=False, Limit=1, ConsistentRead=True)
        if not page["Items"]:
            return None
        head = page["Items"][0]
        return int(str(head["sk"])), str(head["chain_hash"])

    def get(self, week_id: str, account_id: str, kind: EventKind,
            subject: str = "") -> Event | None:
        probe = Event(week_id=week_id, account_id=account_id, kind=kind, subject=subject,
                      recorded_at="1970-01-01T00:00:00Z", payload={})
        item = self._client.get_item(TableName=self._table_name,
                                     Key={"pk": self._pk(week_id), "sk": probe.sort_key},
                                     ConsistentRead=True).get("Item")
        return _event(item) if item else None

    def list_week(self, week_id: str, account_id: str | None = None) -> list[Event]:
        condition = Key("pk").eq(self._pk(week_id))
        if account_id is not None:
            condition &= Key("sk").begins_with(f"{account_id}#")
        events = self._query(KeyConditionExpression=condition, ConsistentRead=True)
        return sorted(events, key=lambda e: e.time_order)

    def list_account(self, account_id: str, kind: EventKind | None = None) -> list[Event]:
        partition, sort = ACCOUNT_INDEX_KEYS
        condition = Key(partition).eq(self._account_pk(account_id))
        if kind is not None:
            condition &= Key(sort).eq(kind.value)
        keys = [{"pk": item["pk"], "sk": item["sk"]} for item in self._items(
            IndexName=ACCOUNT_INDEX, KeyConditionExpression=condition)]
        events = [_event(item) for item in self._batch_get(keys)]
        return sorted(events, key=lambda e: (e.week_id, *e.time_order))

    def _batch_get(self, keys: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The items of these keys. Keys DynamoDB leaves unprocessed (throttled, or over 16 MB) are
        asked again after a growing pause, as AWS advises, a bounded number of times."""
        items: list[dict[str, Any]] = []
        for start in range(0, len(keys), BATCH_GET_LIMIT):
            request: dict[str, Any] = {self._table_name: {
                "Keys": keys[start:start + BATCH_GET_LIMIT], "ConsistentRead": True}}
            for attempt in range(UNPROCESSED_ATTEMPTS):
                if attempt:
                    self._sleep(min(0.05 * 2 ** attempt, 2.0))
                answer = self._client.batch_get_item(RequestItems=request)
                items += answer["Responses"].get(self._table_name, [])
                if not (request := answer.get("UnprocessedKeys") or {}):
                    break
            else:
                left = len(request[self._table_name]["Keys"])
                raise RuntimeError(f"DynamoDB left {left} keys of {self._table_name} unprocessed "
                                   f"{UNPROCESSED_ATTEMPTS} times")
        return items

    def _query(self, **kwargs: Any) -> list[Event]:
        return [_event(item) for item in self._items(**kwargs)]

    def _items(self, **kwargs: Any) -> list[dict[str, Any]]:
        return query_items(self._client, TableName=self._table_name, **kwargs)


def query_items(client: Any, **query: Any) -> list[dict[str, Any]]:
    """Every item a Query selects, page after page (a `plain_client()`'s plain values)."""
    items: list[dict[str, Any]] = []
    while True:
        page = client.query(**query)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            return items
        query = {**query, "ExclusiveStartKey": page["LastEvaluatedKey"]}


def _event(item: dict[str, Any]) -> Event:
    week_id, account_id, kind, subject = (item["week_id"], item["account_id"], item["kind"],
                                          item["subject"])
    try:
        text = (zlib.decompress(bytes(item["payload_z"])).decode() if "payload_z" in item
                else item["payload"])
    except (zlib.error, UnicodeDecodeError) as exc:
        raise UnreadableEvent(week_id, account_id, kind, subject,
                              f"the stored payload does not decompress ({exc})") from exc
    index = item.get("chain_index")
    return Event(week_id=week_id, account_id=account_id, kind=EventKind(kind), subject=subject,
                 recorded_at=item["recorded_at"],
                 payload=payload_from_text(text, week_id, account_id, kind, subject),
                 chain_index=int(index) if index is not None else None,
                 prev_hash=item.get("prev_hash"), chain_hash=item.get("chain_hash"))

