"""What the CLI prints for people: one model's calls of a week, the stored weeks, progress during long runs."""

from __future__ import annotations

import dataclasses
import json
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from typing import Any

from llmtrade.domain.calendar import ET
from llmtrade.ports import EventStore
from llmtrade.schemas import SHARED_ACCOUNT, Event, EventKind, LLMCallRecord, WeekPostmortem, WeekSummary
from llmtrade.services import Services

RULE = "-" * 100


def account_calls(store: EventStore, week_id: str, account_id: str) -> list[LLMCallRecord]:
    return [LLMCallRecord.model_validate(e.payload) for e in store.list_week(week_id, account_id)
            if e.kind is EventKind.LLM_CALL]


def format_calls(calls: list[LLMCallRecord]) -> str:
    """Each call's prompt, answer (pretty JSON when it parsed) and cost, separated by rules, then the total."""
    blocks = []
    for call in calls:
        head = (f"{call.purpose} (attempt {call.attempt}) · asked {call.model_requested}, answered by "
                f"{call.model_answered}{' [offline]' if call.offline else ''}\n"
                f"{'valid' if call.valid else 'INVALID'} · {call.prompt_tokens:,} prompt + "
                f"{call.completion_tokens:,} completion tokens · ${call.cost_usd:.4f} · {call.latency_ms} ms"
                + (f" · provider {call.provider}" if call.provider else ""))
        if call.error:
            head += f"\nerror: {call.error}"
        prompt = "\n\n".join(f"[{m.get('role', '?')}]\n{m.get('content', '')}" for m in call.messages)
        answer = json.dumps(call.parsed, indent=2) if call.parsed is not None else call.response_text
        blocks.append(f"{RULE}\n{head}\n\n== prompt\n{prompt}\n\n== answer\n{answer}")
    cost = sum((c.cost_usd for c in calls), Decimal(0))
    tokens = sum(c.prompt_tokens + c.completion_tokens for c in calls)
    return "\n".join([*blocks, RULE, f"{len(calls)} call(s), {tokens:,} tokens, ${cost:.4f}"])


def stored_weeks(store: EventStore) -> list[dict[str, Any]]:
    """Every week with a week summary, oldest first: its council trade, LLM cost and, once settled, P/L."""
    settled = {e.week_id: WeekPostmortem.model_validate(e.payload)
               for e in store.list_account(SHARED_ACCOUNT, EventKind.WEEK_POSTMORTEM)}
    weeks = []
    for event in store.list_account(SHARED_ACCOUNT, EventKind.WEEK_SUMMARY):
        summary = WeekSummary.model_validate(event.payload)
        council = next((a for a in summary.accounts if a.kind == "council"), None)
        done = settled.get(summary.week_id)
        weeks.append({
            "week_id": summary.week_id, "offline": summary.offline,
            "council": f"{council.direction.value} {council.instrument or ''}".strip() if council else "-",
            "llm_calls": summary.llm_calls, "llm_cost_usd": str(summary.llm_cost_usd),
            "settled": done is not None, "best": done.ranking[0] if done and done.ranking else None,
            "council_pnl_usd": str(done.pnl_by_account[council.account_id])
            if done and council and council.account_id in done.pnl_by_account else None,
        })
    return sorted(weeks, key=lambda w: w["week_id"])


class _ObservedStore:
    """The run's event store, telling `seen` about every event it newly stores (the steps' progress)."""

    def __init__(self, store: EventStore, seen: Callable[[Event], None]) -> None:
        self._store, self._seen = store, seen

    def append(self, event: Event) -> bool:
        added = self._store.append(event)
        if added:
            self._seen(event)
        return added

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


class Progress:
    """A status line on stderr (rich) naming the step a run is at; `stage` sets what the run is doing."""

    def __init__(self, status: Any) -> None:
        self._status, self._stage, self._lock = status, "", threading.Lock()

    def stage(self, text: str) -> None:
        with self._lock:
            self._stage = text
            if self._status is not None:
                self._status.update(text)

    def seen(self, event: Event) -> None:
        if self._status is None:
            return
        what = event.kind.value.replace("_", " ")
        subject = event.subject if event.kind is EventKind.CHECKPOINT_UPDATE else ""
        at = f" {datetime.fromisoformat(subject).astimezone(ET):%a %H:%M}" if subject else ""
        with self._lock:
            self._status.update(f"{self._stage} · {what}{at} · {event.account_id}")


@contextmanager
def progress(services: Services, enabled: bool) -> Iterator[tuple[Services, Progress]]:
    """Services whose new events update a status line on stderr, when enabled and stderr is a terminal."""
    if not enabled or not sys.stderr.isatty():
        yield services, Progress(None)
        return
    from rich.console import Console

    with Console(stderr=True).status("starting") as status:
        shown = Progress(status)
        yield dataclasses.replace(services, store=_ObservedStore(services.store, shown.seen)), shown
