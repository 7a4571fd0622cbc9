"""Fixtures the provider adapters' tests share."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from llmtrade.adapters.broker.sim_market import SimMarket
from llmtrade.adapters.research.offline import OfflineResearch
from llmtrade.config import Settings
from llmtrade.domain.calendar import ET
from llmtrade.schemas import ResearchAnswer

from tests.conftest import WEEK


@pytest.fixture(scope="module")
def answer(settings: Settings) -> dict[str, Any]:
    """A valid ResearchAnswer (the offline twin's pack without identity), as a research provider
    would send it."""
    pack = OfflineResearch(SimMarket(settings.assets)).produce(
        WEEK, datetime(2026, 11, 25, 8, 0, tzinfo=ET))
    return pack.model_dump(mode="json", include=set(ResearchAnswer.model_fields))
