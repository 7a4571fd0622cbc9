"""What the CLI prints for people: one model's calls of a week, the stored weeks, progress during
long runs."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from llmtrade.events import EventLog
from llmtrade.ports import EventStore
from llmtrade.schemas import SHARED_ACCOUNT, AccountKind, LLMCallRecord, WeekPostmortem, WeekSummary

RULE = "-" * 100


def account_calls(store: EventStore, week_id: str, account_id: str) -> list[LLMCallRecord]:
    return EventLog(store).all(LLMCallRecord, week_id, account_id)


def format_calls(calls: list[LLMCallRecord]) -> str:
    """Each call's prompt, answer (pretty JSON when it parsed) and cost, separated by rules, then
    the total."""
    blocks = []
    for call in calls:
        head = (f"{call.purpose} (attempt {call.attempt}) · asked {call.model_requested}, "
                f"answered by {call.model_answered}{' [offline]' if call.offline else ''}\n"
                f"{'valid' if call.valid else 'INVALID'} · {call.prompt_tokens:,} prompt + "
                f"{call.completion_tokens:,} completion tokens · ${call.cost_usd:.4f} · "
                f"{call.latency_ms} ms"
                + (f" · provider {call.provider}" if call.provider else ""))
        if call.error:
            head += f"\nerror: {call.error}"
        prompt = "\n\n".join(f"[{m.get('role', '?')}]\n{m.get('content', '')}"
                             for m in call.messages)
        answer = (json.dumps(call.parsed, indent=2) if call.parsed is not None
                  else call.response_text)
        blocks.append(f"{RULE}\n{head}\n\n== prompt\n{prompt}\n\n== answer\n{answer}")
    cost = sum((c.cost_usd for c in calls), Decimal(0))
    tokens = sum(c.prompt_tokens + c.completion_tokens for c in calls)
    return "\n".join([*blocks, RULE, f"{len(calls)} call(s), {tokens:,} tokens, ${cost:.4f}"])


def stored_weeks(store: EventStore) -> list[dict[str, Any]]:
    """Every week with a week summary, oldest first: its council trade, LLM cost and, once
    settled, P/L."""
    log = EventLog(store)
    settled = {p.week_id: p for p in log.history(WeekPostmortem, SHARED_ACCOUNT)}
    weeks = [_week_row(summary, settled.get(summary.week_id))
             for summary in log.history(WeekSummary, SHARED_ACCOUNT)]
    return sorted(weeks, key=lambda w: w["week_id"])


def _week_row(summary: WeekSummary, done: WeekPostmortem | None) -> dict[str, Any]:
    council = next((a for a in summary.accounts if a.kind is AccountKind.COUNCIL), None)
    return {
        "week_id": summary.week_id, "offline": summary.offline,
        "council": (f"{council.direction.value} {council.instrument or ''}".strip() if council
                    else "-"),
        "llm_calls": summary.llm_calls, "llm_cost_usd": str(summary.llm_cost_usd),
        "settled": done is not None, "best": done.ranking[0] if done and done.ranking else None,
        "council_pnl_usd": str(done.pnl_by_account[council.account_id])
        if done and council and council.account_id in done.pnl_by_account else None,
    }
