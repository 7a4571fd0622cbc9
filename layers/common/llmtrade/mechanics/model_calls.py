"""Asking a model for a structured answer: check the budget, render, call, validate, repair, record
every call.

Every call becomes an LLM_CALL event: what the model saw (messages, template), what it said (the raw
body and the text), what it cost, and how it ended (the parsed answer, or the error). A call that
failed at the provider, or that the weekly budget refused before any request, is recorded as well.
"""

from __future__ import annotations

import copy
import hashlib
import re
from decimal import Decimal
from functools import lru_cache
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel, ValidationError

from llmtrade.config import Settings
from llmtrade.domain.universe import answer_schema, in_universe
from llmtrade.events import EventLog
from llmtrade.ports import LLM, ChatMessage, LLMError, LLMRequest, LLMResponse
from llmtrade.prompts import render
from llmtrade.schemas import LLMCallRecord, ResearchCall

Answer = TypeVar("Answer", bound=BaseModel)

STORED_TEXT_LIMIT = 50_000  # of a response kept in an event: a DynamoDB item holds at most 400 KB
ECHO_LIMIT = 8_000  # of an invalid answer quoted back in the repair prompt


class ModelFailed(RuntimeError):
    """The model gave no valid answer: data, not an infrastructure error. Its account goes FLAT."""


class CallContext(Protocol):
    """What asking needs: `Services` has it, and so has the general council's smaller context."""

    @property
    def settings(self) -> Settings: ...

    @property
    def events(self) -> EventLog: ...

    @property
    def llm(self) -> LLM: ...

    @property
    def offline(self) -> bool: ...


# A release date OpenRouter appends to a model's canonical slug: 2025-11-13, 20250929, 250929,
# 0709 (MMDD, x-ai/grok-4-0709) or 11-2025 (MM-YYYY); `@` as Vertex writes it.
_RELEASE_DATE = re.compile(r"[-@](?:\d{4}-\d{2}-\d{2}|\d{8}|\d{6}|\d{2}-\d{4}|\d{4})$")
# a version written with dashes (claude-sonnet-4-5) is the dotted one (claude-sonnet-4.5)
_DASHED_VERSION = re.compile(r"(?<=\b\d)-(?=\d{1,2}\b)")


def answered_by_asked(asked: str, answered: str) -> bool:
    """The model that answered is the one asked: the same slug, its offline twin, a dated variant
    (`x-ai/grok-4-0709` for `x-ai/grok-4`), or the provider's canonical spelling of it
    (`anthropic/claude-sonnet-4.5` answers as `anthropic/claude-4.5-sonnet-20250929`): the same
    vendor, the same name words and version in any order, release dates aside. Another model of the
    family (haiku for sonnet, 4.1 for 4.5) or a smaller variant (-mini, -nano, -lite, -fast: an
    extra word) is a swap."""
    answered = answered.removeprefix("offline:")
    return answered == asked or _identity(answered) == _identity(asked)


def _identity(slug: str) -> tuple[str, list[str]]:
    vendor, _, name = slug.lower().partition("/")
    name = _DASHED_VERSION.sub(".", _RELEASE_DATE.sub("", name))
    return vendor, sorted(p for p in re.split(r"[-:_]", name) if p)


def spent_this_week(events: EventLog, week_id: str) -> Decimal:
    """The week's model spend so far: its recorded LLM calls and research provider calls."""
    week = events.week(week_id)
    return sum((call.cost_usd for call in week.all(LLMCallRecord)), Decimal(0)) + \
        sum((call.cost_usd for call in week.all(ResearchCall)), Decimal(0))


def budget_refusal(context: CallContext, week_id: str) -> str | None:
    """Why the next call must not be made, or None. Parallel calls may each pass the check together,
    so the week can overshoot by at most one call estimate per call in flight."""
    budget = context.settings.models.budget
    weekly, estimate = Decimal(str(budget.weekly_usd)), Decimal(str(budget.call_estimate_usd))
    spent = spent_this_week(context.events, week_id)
    if spent + estimate > weekly:
        return (f"budget exceeded: spent ${spent:.2f} of ${weekly:.2f} this week; "
                f"a call is estimated at ${estimate:.2f}")
    return None


def ask(
    context: CallContext, *, week_id: str, account_id: str, purpose: str, model: str, role: str,
    template: str, variables: dict[str, Any], answer: type[Answer], system_template: str = "system",
) -> tuple[Answer, str]:
    """The validated answer and the model that gave it; ModelFailed when there is none."""
    symbols = context.settings.assets.symbols
    schema = copy.deepcopy(_schema(answer, tuple(symbols)))
    messages = [
        ChatMessage(role="system", content=render(system_template, role=role, universe=symbols,
                                                  schema_name=answer.__name__)),
        ChatMessage(role="user", content=render(template, universe=symbols, **variables)),
    ]
    call = _Call(context, week_id, account_id, purpose, template)
    check = in_universe(symbols)
    attempts = 1 + context.settings.models.repair_attempts
    error = ""
    for attempt in range(1, attempts + 1):
        request = LLMRequest(model=model, messages=messages, schema_name=answer.__name__,
                             json_schema=schema)
        if refusal := budget_refusal(context, week_id):
            call.refused(attempt, request, refusal)
            raise ModelFailed(refusal)
        try:
            response = context.llm.complete(request)
        except LLMError as exc:
            call.failed(attempt, request, exc)
            raise ModelFailed(f"{model} did not answer: {exc}") from exc
        parsed: Answer | None = None
        swapped = not answered_by_asked(model, response.model)
        try:
            if swapped:
                raise ValueError(f"asked {model} but {response.model} answered")
            parsed = answer.model_validate_json(response.content)
            check(parsed)
            error = ""
        except (ValidationError, ValueError) as exc:
            error = str(exc)[:2000]
            parsed = None
        call.answered(attempt, request, response, parsed, error)
        if parsed is not None:
            return parsed, response.model
        if swapped:
            # another model answered: a repair prompt would not bring the asked one back
            raise ModelFailed(error)
        messages = [*messages,
                    ChatMessage(role="assistant", content=_clip(response.content, ECHO_LIMIT)),
                    ChatMessage(role="user", content=(
                        f"That answer did not validate: {error}\n"
                        "Answer again with one JSON object that matches the schema."))]
    raise ModelFailed(f"{model} gave no valid answer in {attempts} attempts: {error}")


@lru_cache(maxsize=64)
def _schema(answer: type[BaseModel], symbols: tuple[str, ...]) -> dict[str, Any]:
    return answer_schema(answer, list(symbols))  # costs more than a whole offline call


def _clip(text: str, limit: int) -> str:
    return (text if len(text) <= limit
            else f"{text[:limit]}... [{len(text) - limit} more characters not kept]")


class _Call:
    """Records each attempt of one `ask` as an LLM_CALL event."""

    def __init__(self, context: CallContext, week_id: str, account_id: str, purpose: str,
                 template: str) -> None:
        self.context, self.week_id, self.account_id = context, week_id, account_id
        self.purpose, self.template = purpose, template

    def answered(self, attempt: int, request: LLMRequest, response: LLMResponse,
                 parsed: BaseModel | None, error: str) -> None:
        self._store(attempt, request, response.content, error, model_answered=response.model,
                    offline=response.offline, prompt_tokens=response.prompt_tokens,
                    completion_tokens=response.completion_tokens, cost_usd=response.cost_usd,
                    latency_ms=response.latency_ms, provider=response.provider,
                    http_attempts=response.attempts,
                    raw_response=_clip(response.raw, STORED_TEXT_LIMIT),
                    parsed=parsed.model_dump(mode="json") if parsed is not None else None)

    def failed(self, attempt: int, request: LLMRequest, exc: LLMError) -> None:
        self._store(attempt, request, "", str(exc)[:2000] or type(exc).__name__,
                    latency_ms=exc.latency_ms, cost_usd=exc.cost_usd, http_attempts=exc.attempts,
                    http_status=exc.status,
                    raw_response=_clip(exc.raw, STORED_TEXT_LIMIT))

    def refused(self, attempt: int, request: LLMRequest, reason: str) -> None:
        self._store(attempt, request, "", reason, http_attempts=0)

    def _store(self, attempt: int, request: LLMRequest, content: str, error: str,
               **details: Any) -> None:
        details = {"model_answered": "", "offline": self.context.offline, "prompt_tokens": 0,
                   "completion_tokens": 0, "cost_usd": Decimal(0), "latency_ms": 0, **details}
        record = LLMCallRecord(
            week_id=self.week_id, account_id=self.account_id, purpose=self.purpose,
            model_requested=request.model,
            attempt=attempt, messages=[m.model_dump() for m in request.messages],
            response_text=_clip(content, STORED_TEXT_LIMIT), valid=not error, error=error or None,
            template=self.template, **details,
        )
        # a rerun that gets a different answer keeps both calls; an identical one is stored once
        digest = hashlib.sha256((content or f"error: {error}").encode()).hexdigest()[:12]
        # the context's own log: a chain's head it keeps saves reading it again for the next event
        self.context.events.record(record, week_id=self.week_id, account_id=self.account_id,
                                   subject=f"{self.purpose}#{attempt}#{digest}")
