from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from llmtrade.adapters.broker.ledger_sqlite import SqliteOrderLedger
from llmtrade.adapters.store.sqlite import SqliteEventStore
from llmtrade.config import Settings, load_settings
from llmtrade.services import Services
from llmtrade.wiring import offline_services

REPO = Path(__file__).resolve().parents[1]
WEEK = "2026-11-25"  # the Wednesday before Thanksgiving: Thursday closed, Friday closes at 13:00

# moto and boto3 must never find real credentials or reach AWS
os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
                  AWS_SESSION_TOKEN="testing", AWS_DEFAULT_REGION="us-east-1",
                  AWS_REGION="us-east-1")
# CDK's jsii banner on Node 20
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

# Set: what the Lambda layer prunes (infra.functions.LAYER_PRUNE) cannot be imported, as in Lambda
# (tests/infra/test_layer_requirements.py runs the state machine tests so).
AS_IN_THE_LAYER = "LLMTRADE_AS_IN_THE_LAYER"
if os.environ.get(AS_IN_THE_LAYER):
    from tests.infra.test_layer_requirements import pruned_modules

    for _pruned in pruned_modules():
        sys.modules[_pruned] = None  # type: ignore[assignment]


@pytest.fixture(scope="session")
def settings() -> Settings:
    return load_settings(REPO / "config")


@pytest.fixture
def services(settings: Settings, tmp_path: Path) -> Iterator[Services]:
    store, ledger = (SqliteEventStore(tmp_path / "events.sqlite"),
                     SqliteOrderLedger(tmp_path / "ledger.sqlite"))
    yield offline_services(settings, store, ledger)
    store.close()
    ledger.close()
