"""The seal: before a week's first order, one event fixes what the week decided on (SPEC §7).

It names every research pack, pitch, review, model failure and the chairman's decision by event id
and chain hash, with the config's hash and the code version in force, under one digest; `llmtrade
verify` recomputes it. Rerun safe: a week is sealed once (`recorded`), so a rerun after the orders
finds the same seal. In AWS the handler then writes it to the seal bucket under S3 Object Lock
(entrypoints/after_step.py), where nobody can rewrite it before its retention ends.
"""

from __future__ import annotations

from typing import Any

from llmtrade.mechanics.provenance import code_version, config_hash, seal_digest, sealed_events
from llmtrade.run_keys import WeekRun
from llmtrade.schemas import SHARED_ACCOUNT, Seal
from llmtrade.services import Services


def make_seal(services: Services, run: WeekRun) -> Seal:
    events = sealed_events(services.events.week(run.week_id).events)
    # offline, the week happens at its simulated moment; live, now
    sealed_at = run.asof if services.offline else services.clock()
    config, code = config_hash(services.settings), code_version()
    return Seal(week_id=run.week_id, sealed_at=sealed_at, events=events, config_hash=config,
                code_version=code,
                digest=seal_digest(run.week_id, sealed_at, events, config, code))


def seal(services: Services, run: WeekRun) -> dict[str, Any]:
    entry = services.events.recorded(Seal, run.week_id, SHARED_ACCOUNT,
                                     otherwise=lambda: make_seal(services, run))
    return {"event_id": entry.event_id, "digest": entry.payload.digest}
