"""The fixture every event-store contract runs on: the embedded SQLite store and DynamoDB (moto)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from llmtrade.adapters.store.dynamodb import DynamoDBEventStore
from llmtrade.adapters.store.sqlite import SqliteEventStore
from llmtrade.ports import EventStore
from moto import mock_aws

from tests.support import create_event_table


@pytest.fixture(params=["sqlite", "dynamodb"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[EventStore]:
    if request.param == "sqlite":
        yield SqliteEventStore(tmp_path / "events.sqlite")
        return
    with mock_aws():
        create_event_table("events")
        yield DynamoDBEventStore("events")
