"""Research: every configured provider freezes one research pack for the week (SPEC §3.2)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from llmtrade.schemas import SHARED_ACCOUNT, Event, EventKind
from llmtrade.services import Services
from llmtrade.steps.keys import WeekRun


def research(services: Services, run: WeekRun) -> dict[str, Any]:
    ids = []
    for provider in services.research:
        existing = services.store.get(run.week_id, SHARED_ACCOUNT, EventKind.RESEARCH_PACK, provider.name)
        if existing is None:  # frozen: a rerun never asks the provider again
            status = provider.start(run.week_id, run.asof)
            if status.pack is None:
                raise RuntimeError(f"research provider {provider.name}: {status.state} {status.error or ''}")
            pack = status.pack
            existing = Event.of(pack, week_id=run.week_id, account_id=SHARED_ACCOUNT,
                                kind=EventKind.RESEARCH_PACK, subject=provider.name, recorded_at=datetime.now(UTC))
            services.store.append(existing)
        ids.append(existing.event_id)
    return {"research_packs": ids}
