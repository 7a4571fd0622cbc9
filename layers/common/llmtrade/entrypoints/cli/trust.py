"""`llmtrade verify` (every chain and seal of the event log) and `llmtrade replay` (a week's
decisions again, from its stored answers)."""

from __future__ import annotations

import argparse
import dataclasses
import json

from pydantic import BaseModel

from llmtrade.adapters.broker.ledger_sqlite import SqliteOrderLedger
from llmtrade.adapters.llm.recorded import RecordedLLM
from llmtrade.adapters.store.sqlite import SqliteEventStore
from llmtrade.config import Settings, load_settings
from llmtrade.domain.calendar import parse_week_id
from llmtrade.domain.checkpoint_rules import decide, recorded_facts
from llmtrade.entrypoints.cli.common import UsageError
from llmtrade.events import Entry, EventLog, Week, kind_of
from llmtrade.mechanics.provenance import stored_weeks, unreadable, verify
from llmtrade.mechanics.targets import target_in
from llmtrade.ports import EventStore
from llmtrade.run_keys import WeekRun
from llmtrade.schemas import (
    SHARED_ACCOUNT,
    ChairmanDecision,
    CheckpointUpdate,
    EventKind,
    LLMCallRecord,
    ModelFailure,
    PeerReview,
    Pitch,
    ResearchPack,
    UnreadableEvent,
    WeekSummary,
)
from llmtrade.steps.council import chairman, pitch, review
from llmtrade.wiring import offline_services


def _stored(args: argparse.Namespace) -> EventStore:
    return SqliteEventStore(args.data_dir / "events.sqlite", read_only=True)


def verify_store(store: EventStore, week: str | None, account_ids: list[str],
                 as_json: bool = False) -> int:
    """Exit 0 when every chain and seal is intact, 1 naming the first broken link."""
    try:
        weeks = [week] if week else stored_weeks(store, account_ids)
    except UnreadableEvent as exc:
        print(f"BROKEN: {unreadable(exc)}")
        return 1
    verified = verify(store, weeks)
    if as_json:
        print(json.dumps({"weeks": verified.weeks, "links": verified.links,
                          "unchained": verified.unchained, "seals": verified.seals,
                          "broken": [str(b) for b in verified.broken]}, indent=2))
    elif verified.broken:
        print(f"BROKEN: {verified.broken[0]}")
        if len(verified.broken) > 1:
            print(f"({len(verified.broken) - 1} more broken link(s) after it)")
    else:
        unchained = (f"; {verified.unchained} event(s) recorded before the log was chained, "
                     "not verifiable" if verified.unchained else "")
        print(f"intact: {len(verified.weeks)} week(s), {verified.links} chained event(s), "
              f"{verified.seals} seal(s){unchained}")
    return 1 if verified.broken else 0


def verify_command(args: argparse.Namespace) -> int:
    if args.week:
        parse_week_id(args.week)
    settings = load_settings(args.config_dir)
    return verify_store(_stored(args), args.week, [a.id for a in settings.accounts.accounts],
                        args.json)


# --------------------------------------------------------------------------------------- replay
DECISIONS: tuple[type[BaseModel], ...] = (Pitch, PeerReview, ModelFailure, ChairmanDecision)
WHEN = {"timestamp"}  # when a decision was recorded is not part of it


def replay_week(source: EventStore, settings: Settings, week_id: str) -> list[str]:
    """The week's decisions made again in a scratch store, every model answered from the stored
    calls and the research from the stored packs, and each checkpoint decided again from the
    facts it recorded: the differences with what is stored (none: identical)."""
    stored = EventLog(source).week(week_id)
    if not stored.has(ResearchPack):
        raise UsageError(f"week {week_id} has no research pack in this store: nothing to replay")
    summary = stored.get(WeekSummary, SHARED_ACCOUNT)
    scratch = SqliteEventStore(":memory:")
    for pack in (e for e in stored.events if e.kind is EventKind.RESEARCH_PACK):
        scratch.append(pack)
    services = dataclasses.replace(
        offline_services(settings, scratch, SqliteOrderLedger(":memory:")),
        llm=RecordedLLM(stored.all(LLMCallRecord)),
        offline=summary.offline if summary else True)
    run = WeekRun(week_id=week_id,
                  asof=summary.asof_et if summary else settings.schedule.weekly_run_at(week_id),
                  pm_accounts=[a.id for a in settings.pm_accounts],
                  accounts=[a.id for a in settings.accounts.accounts],
                  research_poll_seconds=settings.models.research.poll_seconds)
    for step in (pitch, review):
        for account_id in run.pm_accounts:
            step(services, run, account_id)
    chairman(services, run)
    return _differences(stored, services.events.week(week_id), settings, week_id)


def _differences(stored: Week, replayed: Week, settings: Settings, week_id: str) -> list[str]:
    found = []
    for payload_type in DECISIONS:
        before = {(e.account_id, e.subject): e.payload for e in stored.entries(payload_type)}
        after = {(e.account_id, e.subject): e.payload for e in replayed.entries(payload_type)}
        for account_id, subject in sorted(before.keys() | after.keys()):
            was, now = before.get((account_id, subject)), after.get((account_id, subject))
            if (fields := _changed(was, now)) is not None:
                where = " ".join(p for p in (kind_of(payload_type).value, account_id, subject) if p)
                found.append(f"{where}: {fields}")
    for account in settings.accounts.accounts:
        was_target = target_in(stored, week_id, account.id, account.kind)[:2]
        now_target = target_in(replayed, week_id, account.id, account.kind)[:2]
        if was_target != now_target:
            found.append(f"target {account.id}: stored {was_target}, replayed {now_target}")
        found += _checkpoint_differences(stored.entries(CheckpointUpdate, account.id),
                                         now_target)
    return found


def _checkpoint_differences(updates: list[Entry[CheckpointUpdate]],
                            target: tuple[str | None, int]) -> list[str]:
    """Each recorded checkpoint decided again (`decide`) from the facts it recorded, its conviction
    before taken as the checkpoint took it (the latest earlier checkpoint's, among those recorded
    before it, else the week's) and its instrument and weekly conviction from the replayed target.
    Updates recorded before their inputs were are not replayable and left out."""
    found: list[str] = []
    seen: list[CheckpointUpdate] = []
    for entry in updates:  # in the order they were recorded
        update = entry.payload
        earlier = [u for u in seen if u.at < update.at]
        seen.append(update)
        if (facts := recorded_facts(update)) is None or update.inputs is None:
            continue
        decision = decide(facts)
        instrument, weekly = target
        expected = update.model_copy(update={
            "conviction_before": max(earlier, key=lambda u: u.at).conviction_after if earlier
            else weekly,
            "action": decision.action, "conviction_after": decision.conviction_after,
            "reason_delta": decision.reason, "unrealized_pl": decision.unrealized_pl,
            "inputs": update.inputs.model_copy(update={"weekly_conviction": weekly,
                                                       "instrument": instrument})})
        if (fields := _changed(update, expected)) is not None:
            found.append(f"{EventKind.CHECKPOINT_UPDATE.value} {entry.account_id} "
                         f"{entry.subject}: {fields}")
    return found


def _changed(was: BaseModel | None, now: BaseModel | None) -> str | None:
    if was is None or now is None:
        return "only stored" if now is None else "only replayed"
    before, after = was.model_dump(mode="json"), now.model_dump(mode="json")
    fields = sorted(f for f in before.keys() | after.keys()
                    if f not in WHEN and before.get(f) != after.get(f))
    return f"{', '.join(fields)} differ" if fields else None


def replay_command(args: argparse.Namespace) -> int:
    parse_week_id(args.week)
    differences = replay_week(_stored(args), load_settings(args.config_dir), args.week)
    if args.json:
        print(json.dumps({"week_id": args.week, "identical": not differences,
                          "differences": differences}, indent=2))
    elif not differences:
        print(f"week {args.week}: identical")
    else:
        print(f"week {args.week}: {len(differences)} difference(s)")
        print("\n".join(f"- {line}" for line in differences))
    return 1 if differences else 0
