"""`ask`: validate, repair once, record every call (good, invalid, failed, refused), keep to the
weekly budget."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from llmtrade.config import Budget
from llmtrade.mechanics.model_calls import ModelFailed, ask
from llmtrade.ports import LLM, LLMError, LLMRequest, LLMResponse
from llmtrade.schemas import Event, EventKind, LLMCallRecord, PitchAnswer
from llmtrade.services import Services

from tests.conftest import WEEK

MODEL = "openai/gpt-5.1"
GOLD = {"name": "gold holds", "measure": "week_return_pct", "instrument": "GLD",
        "comparison": ">", "threshold": 0.5, "role": "confirms"}
VALID = {"instrument": "GLD", "direction": "LONG", "thesis_bullets": ["real yields fall"],
         "indicators": [GOLD],
         "invalidation": "GLD below its weekly open", "conviction": 1}


class ScriptedLLM:
    """Answers each request with the next scripted outcome: a content string, or an LLMError to
    raise."""

    def __init__(self, *outcomes: str | LLMError, answered_by: str | None = None,
                 cost_usd: Decimal = Decimal("0.0123")) -> None:
        self.outcomes, self.answered_by, self.cost_usd = list(outcomes), answered_by, cost_usd
        self.requests: list[LLMRequest] = []

    def complete(self, request: LLMRequest) -> LLMResponse:
        self.requests.append(request)
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, LLMError):
            raise outcome
        body = {"id": "gen-1", "model": self.answered_by or request.model, "provider": "Fireworks",
                "choices": [{"message": {"role": "assistant", "content": outcome}}],
                "usage": {"prompt_tokens": 120, "completion_tokens": 40,
                          "cost": float(self.cost_usd)}}
        return LLMResponse(model=self.answered_by or request.model, content=outcome,
                           prompt_tokens=120, completion_tokens=40, cost_usd=self.cost_usd,
                           latency_ms=321, offline=False, provider="Fireworks", attempts=2,
                           raw=json.dumps(body))


def ask_pitch(services: Services, llm: LLM,
              account_id: str = "pm-gpt") -> tuple[PitchAnswer, str]:
    return ask(dataclasses.replace(services, llm=llm), week_id=WEEK, account_id=account_id,
               purpose="pitch", model=MODEL, role="a portfolio manager", template="pitch",
               answer=PitchAnswer,
               variables={"week_id": WEEK, "asof": f"{WEEK}T08:00:00-05:00", "packs": []})


def calls(services: Services) -> list[LLMCallRecord]:
    return [LLMCallRecord.model_validate(e.payload) for e in services.store.list_week(WEEK)
            if e.kind is EventKind.LLM_CALL]


def test_a_valid_answer_is_recorded_with_what_the_model_saw_said_and_cost(
        services: Services) -> None:
    answer, answered_by = ask_pitch(services, ScriptedLLM(json.dumps(VALID)))
    assert answer.instrument == "GLD" and answered_by == MODEL
    [call] = calls(services)
    assert (call.template, call.provider, call.http_attempts, call.attempt) == (
        "pitch", "Fireworks", 2, 1)
    assert call.valid and call.error is None and call.parsed == answer.model_dump(mode="json")
    assert (call.cost_usd == Decimal("0.0123") and call.latency_ms == 321
            and call.prompt_tokens == 120)
    assert (json.loads(call.raw_response)["usage"]["cost"] == 0.0123
            and call.response_text == json.dumps(VALID))
    assert ([m["role"] for m in call.messages] == ["system", "user"]
            and "Pitch ONE trade" in call.messages[1]["content"])


def test_invalid_json_is_repaired_once_and_both_calls_are_recorded(services: Services) -> None:
    llm = ScriptedLLM("Sure! Here is my pitch: GLD long", json.dumps(VALID))
    answer, _ = ask_pitch(services, llm)
    assert answer.conviction == 1 and len(llm.requests) == 2
    repair = llm.requests[1].messages
    assert (repair[-2].content == "Sure! Here is my pitch: GLD long"
            and "did not validate" in repair[-1].content)
    first, second = calls(services)
    assert (first.attempt, first.valid, first.parsed) == (1, False, None) \
        and "Invalid JSON" in (first.error or "")
    assert (second.attempt, second.valid) == (2, True) and second.parsed is not None


def test_an_answer_invalid_twice_is_a_model_failure(services: Services) -> None:
    outside = {**VALID, "instrument": "BTC"}
    mismatched = {**VALID, "direction": "SHORT"}
    with pytest.raises(ModelFailed,
                       match=r"(?s)no valid answer in 2 attempts.*disagrees with conviction"):
        ask_pitch(services, ScriptedLLM(json.dumps(outside), json.dumps(mismatched)))
    first, second = calls(services)
    assert ("'BTC' is not in the universe" in (first.error or "") and not first.valid
            and not second.valid)


def test_a_provider_error_is_recorded_with_status_attempts_body_and_latency(
        services: Services) -> None:
    body = '{"error": {"code": 429, "message": "Rate limit exceeded"}}'
    error = LLMError("openai/gpt-5.1: 429 rate limited after 4 attempts", status=429, attempts=4,
                     raw=body, latency_ms=9_000)
    llm = ScriptedLLM(error)
    with pytest.raises(ModelFailed, match=r"did not answer: openai/gpt-5\.1: 429 rate limited"):
        ask_pitch(services, llm)
    assert len(llm.requests) == 1  # no repair prompt: the model never answered
    [call] = calls(services)
    assert (call.http_status, call.http_attempts, call.raw_response, call.latency_ms) == (
        429, 4, body, 9_000)
    assert (not call.valid and "429 rate limited" in (call.error or "")
            and call.model_answered == "")
    assert call.template == "pitch" and call.messages  # what the model would have seen


def test_a_swapped_model_fails_without_a_repair_and_is_recorded(services: Services) -> None:
    llm = ScriptedLLM(json.dumps(VALID), answered_by="meta/llama-4")
    with pytest.raises(ModelFailed, match=r"asked openai/gpt-5\.1 but meta/llama-4 answered"):
        ask_pitch(services, llm)
    [call] = calls(services)
    assert len(llm.requests) == 1 and call.model_answered == "meta/llama-4" and not call.valid


def test_a_dated_variant_of_the_model_is_the_model(services: Services) -> None:
    _, answered_by = ask_pitch(services, ScriptedLLM(json.dumps(VALID),
                                                     answered_by="openai/gpt-5.1-2025-11-13"))
    assert answered_by == "openai/gpt-5.1-2025-11-13"


def _spent(services: Services, account_id: str, amount: str) -> None:
    services.store.append(Event.of(
        LLMCallRecord(week_id=WEEK, account_id=account_id, purpose="pitch", model_requested=MODEL,
                      model_answered=MODEL, offline=False, attempt=1, messages=[],
                      response_text="{}", valid=True, prompt_tokens=1, completion_tokens=1,
                      cost_usd=Decimal(amount), latency_ms=1),
        week_id=WEEK, account_id=account_id, kind=EventKind.LLM_CALL, subject=f"spent-{amount}",
        recorded_at=datetime(2026, 11, 25, 13, tzinfo=UTC)))


def test_over_budget_the_call_is_refused_before_any_request_and_recorded(
        services: Services) -> None:
    _spent(services, "pm-claude", "9.95")  # every account's calls count against the week
    _spent(services, "council", "5.00")
    llm = ScriptedLLM(json.dumps(VALID))
    with pytest.raises(ModelFailed, match=r"budget exceeded: spent \$14\.95 of \$15\.00"):
        ask_pitch(services, llm)
    assert llm.requests == []
    refused = [c for c in calls(services) if c.account_id == "pm-gpt"]
    assert (len(refused) == 1 and refused[0].http_attempts == 0
            and "budget exceeded" in (refused[0].error or ""))


def with_budget(services: Services, weekly: float, estimate: float) -> Services:
    models = services.settings.models.model_copy(
        update={"budget": Budget(weekly_usd=weekly, call_estimate_usd=estimate)})
    return dataclasses.replace(services,
                               settings=services.settings.model_copy(update={"models": models}))


def test_the_budget_counts_what_was_spent_including_a_repair(services: Services) -> None:
    tight = with_budget(services, weekly=0.25, estimate=0.10)
    llm = ScriptedLLM("not json", json.dumps(VALID), json.dumps(VALID), cost_usd=Decimal("0.10"))
    ask_pitch(tight, llm)  # 0.00 + 0.10 and 0.10 + 0.10 fit in 0.25
    with pytest.raises(ModelFailed, match=r"spent \$0\.20 of \$0\.25"):  # 0.20 + 0.10 does not
        ask_pitch(tight, llm, account_id="pm-grok")
    assert len(llm.requests) == 2


def test_an_identical_rerun_stores_nothing_new(services: Services) -> None:
    ask_pitch(services, ScriptedLLM("oops", json.dumps(VALID)))
    before = services.store.list_week(WEEK)
    ask_pitch(services, ScriptedLLM("oops", json.dumps(VALID)))
    assert services.store.list_week(WEEK) == before and len(before) == 2


def test_a_huge_answer_is_kept_clipped(services: Services) -> None:
    huge = "A" * 300_000
    with pytest.raises(ModelFailed):
        ask_pitch(services, ScriptedLLM(huge, huge))
    first, second = calls(services)
    assert (len(first.response_text) < 51_000
            and "more characters not kept" in first.response_text)
    # the repair prompt does not echo all of it back
    assert len(second.messages[2]["content"]) < 9_000


def test_the_record_schema_still_reads_older_call_events() -> None:
    older: dict[str, Any] = {
        "week_id": WEEK, "account_id": "pm-gpt", "purpose": "pitch", "model_requested": MODEL,
        "model_answered": MODEL, "offline": True, "attempt": 1, "messages": [],
        "response_text": "{}", "valid": True, "error": None, "prompt_tokens": 1,
        "completion_tokens": 1, "cost_usd": "0", "latency_ms": 1}
    record = LLMCallRecord.model_validate(older)
    assert record.http_attempts == 1 and record.parsed is None and record.template == ""


def test_research_spend_counts_against_the_weekly_budget(services: Services) -> None:
    from llmtrade.schemas import ResearchCall

    services.store.append(Event.of(
        ResearchCall(week_id=WEEK, provider="perplexity", call="start", state="completed",
                     cost_usd=Decimal("14.95"), at=datetime(2026, 11, 25, 13, tzinfo=UTC)),
        week_id=WEEK, account_id="shared", kind=EventKind.RESEARCH_CALL, subject="perplexity/start",
        recorded_at=datetime(2026, 11, 25, 13, tzinfo=UTC)))
    llm = ScriptedLLM(json.dumps(VALID))
    with pytest.raises(ModelFailed, match=r"budget exceeded: spent \$14\.95 of \$15\.00"):
        ask_pitch(services, llm)
    assert llm.requests == []


@pytest.mark.parametrize(("asked", "answered", "same"), [
    ("anthropic/claude-sonnet-4.5", "anthropic/claude-sonnet-4.5", True),
    ("anthropic/claude-sonnet-4.5", "offline:anthropic/claude-sonnet-4.5", True),
    ("openai/gpt-5.1", "openai/gpt-5.1-2025-11-13", True),
    # OpenRouter's canonical slug
    ("anthropic/claude-sonnet-4.5", "anthropic/claude-4.5-sonnet-20250929", True),
    ("anthropic/claude-sonnet-4.5", "anthropic/claude-haiku-4.5", False),
    ("anthropic/claude-sonnet-4.5", "anthropic/claude-sonnet-4", False),
    ("openai/gpt-5.1", "openai/gpt-5", False),
    ("openai/gpt-5.1", "openai/gpt-5.1-mini", False),
    ("x-ai/grok-4", "meta/grok-4", False),
])
def test_the_answering_model_is_recognised_in_its_canonical_spelling(asked: str, answered: str,
                                                                    same: bool) -> None:
    from llmtrade.mechanics.model_calls import answered_by_asked

    assert answered_by_asked(asked, answered) is same


def test_a_failed_but_billed_call_counts_its_cost(services: Services) -> None:
    class BilledRefusal:
        def complete(self, request: LLMRequest) -> LLMResponse:
            raise LLMError("the model refused", status=200, attempts=1, raw="{}",
                           cost_usd=Decimal("0.75"))

    with pytest.raises(ModelFailed):
        ask_pitch(services, BilledRefusal())
    [call] = calls(services)
    assert call.cost_usd == Decimal("0.75") and not call.valid


def test_a_chairman_indicator_outside_the_universe_is_repaired_like_a_pitchs(
        services: Services) -> None:
    from llmtrade.schemas import ChairmanAnswer

    decision = {"selected_trade": {"instrument": "GLD", "direction": "LONG"}, "conviction": 1,
                "rationale": "gold", "dissent_summary": "rates",
                "monitoring_plan": {"checkpoints": [], "key_indicators": [],
                                    "watch_conditions": []},
                "indicators": [GOLD]}
    outside = {**decision, "indicators": [{**GOLD, "instrument": "BTC"}]}
    llm = ScriptedLLM(json.dumps(outside), json.dumps(decision))
    answer, _ = ask(dataclasses.replace(services, llm=llm), week_id=WEEK, account_id="council",
                    purpose="chairman", model=MODEL, role="the chairman of the council",
                    template="chairman", answer=ChairmanAnswer,
                    variables={"week_id": WEEK, "pitches": []})
    assert [i.instrument for i in answer.indicators] == ["GLD"]
    assert "indicators: 1 to 5 machine-checkable" in llm.requests[0].messages[1].content
    first, second = calls(services)
    assert "'BTC' is not in the universe" in (first.error or "") and second.valid
    with pytest.raises(ModelFailed, match="indicators"):  # none at all: no valid answer
        ask(dataclasses.replace(services, llm=ScriptedLLM(*[json.dumps({**decision,
                                                                        "indicators": []})] * 2)),
            week_id=WEEK, account_id="council", purpose="chairman", model=MODEL,
            role="the chairman of the council", template="chairman", answer=ChairmanAnswer,
            variables={"week_id": WEEK, "pitches": []})
