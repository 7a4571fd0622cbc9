"""One offline replay of two weeks (2026-11-11 and 2026-11-18, both settled), shared by the report
tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import cast

import pytest
from llmtrade.adapters.store.sqlite import SqliteEventStore
from llmtrade.config import Settings
from llmtrade.services import Services
from llmtrade.wiring import local_services

from tests.support import cli

WEEKS = ["2026-11-11", "2026-11-18"]


@pytest.fixture(scope="package")
def replay(settings: Settings,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Services]]:
    data = tmp_path_factory.mktemp("replay")
    code, _ = cli("run-weeks", "--offline", "--from", WEEKS[0], "--to", WEEKS[-1], "--data-dir",
                  str(data))
    assert code == 0
    services = local_services(data, settings)
    yield data, services
    cast(SqliteEventStore, services.store).close()
