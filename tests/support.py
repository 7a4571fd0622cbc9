"""Test helpers shared across suites."""

from __future__ import annotations

from typing import Any

TABLE_KEYS: dict[str, Any] = {
    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                  {"AttributeName": "sk", "KeyType": "RANGE"}],
    "AttributeDefinitions": [{"AttributeName": n, "AttributeType": "S"}
                             for n in ("pk", "sk", "gsi1pk", "kind")],
    "GlobalSecondaryIndexes": [{
        "IndexName": "by_account_kind",
        "KeySchema": [{"AttributeName": "gsi1pk", "KeyType": "HASH"},
                      {"AttributeName": "kind", "KeyType": "RANGE"}],
        "Projection": {"ProjectionType": "KEYS_ONLY"},
    }],
    "BillingMode": "PAY_PER_REQUEST",
}


def create_event_table(name: str) -> None:
    """The table as infra/storage.py declares it (tests/infra checks the template has these
    keys)."""
    import boto3

    boto3.client("dynamodb").create_table(TableName=name, **TABLE_KEYS)


def cli(*args: str) -> tuple[int, str]:
    """`llmtrade ARGS` in-process: its exit code and what it printed."""
    import contextlib
    import io

    from llmtrade.entrypoints.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(list(args))
    return code, out.getvalue()
