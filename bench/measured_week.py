"""Figures, not tests: DynamoDB requests and read/write units of offline weeks, measured.

Runs consecutive offline weeks (the weekly run, then every checkpoint of the schedule in the
week) through the local runner against the cloud adapters (the DynamoDB event store and order
ledger) in moto's DynamoDB, with the table as infra declares it, and meters every request
(bench/dynamodb_meter.py). bench/bench_cost.py prices the measured units.
Run: python bench/measured_week.py [--weeks 2]
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from dynamodb_meter import Meter

FIRST_WEEK = date(2026, 11, 4)  # a Wednesday of the simulated market


@dataclass
class WeekUnits:
    week_id: str
    reads: float
    writes: float
    requests: dict[str, int] = field(default_factory=dict)
    transactions: int = 0
    events: int = 0


def measure(weeks: int) -> list[WeekUnits]:
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    from llmtrade.adapters.broker.ledger_dynamodb import DynamoDBOrderLedger
    from llmtrade.adapters.store.dynamodb import DynamoDBEventStore
    from llmtrade.config import load_settings
    from llmtrade.domain.calendar import checkpoint_moments
    from llmtrade.entrypoints.runner import run_workflow
    from llmtrade.wiring import offline_services
    from llmtrade.workflow import CHECKPOINT, WEEKLY
    from moto import mock_aws

    from tests.support import create_event_table

    settings = load_settings()
    measured = []
    _serialize_moto()
    with mock_aws():
        create_event_table("events")
        store, ledger = DynamoDBEventStore("events"), DynamoDBOrderLedger("events")
        services = offline_services(settings, store, ledger)
        for n in range(weeks):
            meter = Meter()
            for client in (store._client, ledger._client):
                meter.attach(client)
            wednesday = FIRST_WEEK + timedelta(weeks=n)
            run_workflow(WEEKLY, {"week_id": wednesday.isoformat()}, services)
            for day in (wednesday + timedelta(days=d) for d in range(5)):
                for moment in checkpoint_moments(settings.schedule, day):
                    run_workflow(CHECKPOINT, {"at": moment.isoformat()}, services)
            for client in (store._client, ledger._client):
                client.meta.events.unregister("before-call.dynamodb", meter._before)
                client.meta.events.unregister("after-call.dynamodb", meter._after)
            measured.append(WeekUnits(wednesday.isoformat(), meter.reads, meter.writes,
                                      dict(meter.requests), meter.transactions,
                                      _events(wednesday)))
    return measured


def _serialize_moto() -> None:
    """The runner steps accounts in threads; moto's transactions copy the table unlocked."""
    import functools
    import threading

    from moto.dynamodb.models import DynamoDBBackend

    lock = threading.RLock()
    for name in ("put_item", "transact_write_items", "query", "get_item", "batch_get_item"):
        method = getattr(DynamoDBBackend, name)

        @functools.wraps(method)
        def locked(*args: object, _method: object = method, **kwargs: object) -> object:
            with lock:
                return _method(*args, **kwargs)  # type: ignore[operator]

        setattr(DynamoDBBackend, name, locked)


def _events(wednesday: date) -> int:
    """The week's events stored (read outside the meter)."""
    import boto3
    from boto3.dynamodb.conditions import Key

    table = boto3.resource("dynamodb").Table("events")
    week = Key("pk").eq(f"WEEK#{wednesday.isoformat()}")
    query: dict[str, object] = {"KeyConditionExpression": week, "Select": "COUNT"}
    count = 0
    while True:
        page = table.query(**query)
        count += int(page["Count"])
        if "LastEvaluatedKey" not in page:
            return count
        query["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weeks", type=int, default=2)
    args = parser.parse_args()
    for week in measure(args.weeks):
        requests = ", ".join(f"{op} {n}" for op, n in sorted(week.requests.items()))
        print(f"week {week.week_id}: {week.events} events, {week.reads:.0f} read units, "
              f"{week.writes:.0f} write units ({week.transactions} transactions); {requests}")


if __name__ == "__main__":
    main()
