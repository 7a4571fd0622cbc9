"""`llmtrade verify` (every chain and seal of the event log) and `llmtrade replay` (a week's
decisions again, from its stored answers)."""

from __future__ import annotations

import argparse
import json

from llmtrade.adapters.store.sqlite import SqliteEventStore
from llmtrade.config import load_settings
from llmtrade.domain.calendar import parse_week_id
from llmtrade.mechanics.provenance import stored_weeks, unreadable, verify
from llmtrade.ports import EventStore
from llmtrade.schemas import UnreadableEvent


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
