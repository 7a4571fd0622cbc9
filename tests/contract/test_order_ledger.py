"""One contract, every OrderLedger: the simulated broker's ledger in SQLite and in DynamoDB (under
moto)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest
from llmtrade.adapters.broker.ledger_dynamodb import DynamoDBOrderLedger
from llmtrade.adapters.broker.ledger_sqlite import SqliteOrderLedger
from llmtrade.adapters.store.dynamodb import DynamoDBEventStore
from llmtrade.ports import OrderLedger
from llmtrade.schemas import BrokerOrder, OrderSide
from moto import mock_aws

from tests.support import create_event_table

T0 = datetime(2026, 11, 25, 13, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "dynamodb"])
def ledger(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OrderLedger]:
    if request.param == "sqlite":
        yield SqliteOrderLedger(tmp_path / "sim_broker.sqlite")
        return
    with mock_aws():
        create_event_table("events")
        yield DynamoDBOrderLedger("events")


def order(cid: str, status: str = "accepted", qty: int = 10) -> BrokerOrder:
    return BrokerOrder(id=f"id-{cid}", client_order_id=cid, symbol="SPY", qty=qty,
                       side=OrderSide.BUY, status=status, submitted_at=T0)


def test_an_order_round_trips(ledger: OrderLedger) -> None:
    assert ledger.orders("pm-gpt") == []
    assert ledger.add("pm-gpt", order("c1")) is True
    assert ledger.orders("pm-gpt") == [order("c1")]


def test_a_client_order_id_is_kept_once_per_account(ledger: OrderLedger) -> None:
    assert ledger.add("pm-gpt", order("c1")) is True
    assert ledger.add("pm-gpt", order("c1", qty=99)) is False  # the first record stands
    assert ledger.add("pm-g", order("c1")) is True  # another account's id space
    assert ledger.orders("pm-gpt") == [order("c1")] and ledger.orders("pm-g") == [order("c1")]


def test_orders_are_read_in_the_order_they_were_added(ledger: OrderLedger) -> None:
    for cid in ("z-first", "a-second", "cancel:z-first", "m-fourth"):
        ledger.add("pm-gpt", order(cid, status="canceled" if cid.startswith("cancel:")
                                   else "accepted"))
    assert [o.client_order_id for o in ledger.orders("pm-gpt")] == [
        "z-first", "a-second", "cancel:z-first", "m-fourth"]


def test_an_account_reads_only_its_own_orders(ledger: OrderLedger) -> None:
    ledger.add("pm-g", order("short"))
    ledger.add("pm-gpt", order("long"))
    assert [o.client_order_id for o in ledger.orders("pm-g")] == ["short"]


def test_a_read_only_sqlite_ledger_reads_what_was_written(tmp_path: Path) -> None:
    SqliteOrderLedger(tmp_path / "sim_broker.sqlite").add("pm-gpt", order("c1"))
    assert SqliteOrderLedger(tmp_path / "sim_broker.sqlite",
                             read_only=True).orders("pm-gpt") == [order("c1")]


def test_dynamodb_ledger_items_never_show_among_the_events() -> None:
    with mock_aws():
        create_event_table("events")
        DynamoDBOrderLedger("events").add("pm-gpt", order("c1"))
        events = DynamoDBEventStore("events")
        assert events.list_account("pm-gpt") == [] and events.list_week("pm-gpt") == []


def test_a_second_ledger_on_the_same_store_sees_what_the_first_kept_reading(
        ledger: OrderLedger, tmp_path: Path) -> None:
    """A rerun, another Lambda: each keeps what it read, yet sees what the other added since, and
    an id the other used is refused."""
    other = (SqliteOrderLedger(tmp_path / "sim_broker.sqlite")
             if isinstance(ledger, SqliteOrderLedger) else DynamoDBOrderLedger("events"))
    ledger.add("pm-gpt", order("c1"))
    assert other.orders("pm-gpt") == [order("c1")]
    assert ledger.add("pm-gpt", order("c2")) is True
    assert other.add("pm-gpt", order("c2", qty=99)) is False  # taken since it last read
    assert other.add("pm-gpt", order("c3")) is True
    assert ledger.add("pm-gpt", order("c4")) is True  # after the slot the other took
    expected = [order("c1"), order("c2"), order("c3"), order("c4")]
    assert ledger.orders("pm-gpt") == expected and other.orders("pm-gpt") == expected


def test_a_dynamodb_ledger_written_before_the_slots_is_read_first() -> None:
    with mock_aws():
        create_event_table("events")
        table = boto3.resource("dynamodb").Table("events")
        for cid, at in (("z-old", "2026-11-25T13:00:00"), ("a-older", "2026-11-25T12:00:00")):
            table.put_item(Item={"pk": "SIMBROKER#pm-gpt", "sk": f"ORDER#{cid}",
                                 "recorded_at": at, "record": order(cid).model_dump_json()})
        ledger = DynamoDBOrderLedger("events")
        assert ledger.add("pm-gpt", order("z-old")) is False
        assert ledger.add("pm-gpt", order("new")) is True
        assert [o.client_order_id for o in DynamoDBOrderLedger("events").orders("pm-gpt")] == [
            "a-older", "z-old", "new"]
