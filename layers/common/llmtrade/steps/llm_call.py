"""Asking a model for a structured answer: render, call, validate, repair once, record every call."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from llmtrade.domain.universe import answer_schema, in_universe
from llmtrade.ports import ChatMessage, LLMError, LLMRequest
from llmtrade.prompts import render
from llmtrade.schemas import Event, EventKind, LLMCallRecord
from llmtrade.services import Services

Answer = TypeVar("Answer", bound=BaseModel)


class ModelFailed(RuntimeError):
    """The model gave no valid answer: data, not an infrastructure error. Its account goes FLAT."""


def answered_by_asked(asked: str, answered: str) -> bool:
    """The model that answered is the one asked (a dated variant of it, or its offline twin)."""
    return answered in (asked, f"offline:{asked}") or answered.startswith(f"{asked}-")


def ask(
    services: Services, *, week_id: str, account_id: str, purpose: str, model: str, role: str,
    template: str, variables: dict[str, Any], answer: type[Answer],
) -> tuple[Answer, str]:
    """The validated answer and the model that gave it."""
    symbols = services.settings.assets.symbols
    schema = answer_schema(answer, symbols)
    messages = [
        ChatMessage(role="system", content=render("system", role=role, universe=symbols, schema_name=answer.__name__)),
        ChatMessage(role="user", content=render(template, universe=symbols, **variables)),
    ]
    check = in_universe(symbols)
    attempts = 1 + services.settings.models.repair_attempts
    error = ""
    for attempt in range(1, attempts + 1):
        request = LLMRequest(model=model, messages=messages, schema_name=answer.__name__, json_schema=schema)
        try:
            response = services.llm.complete(request)
        except LLMError as exc:
            raise ModelFailed(f"{model} did not answer: {exc}") from exc
        parsed: Answer | None = None
        try:
            parsed = answer.model_validate_json(response.content)
            check(parsed)
            if not answered_by_asked(model, response.model):
                raise ModelFailed(f"asked {model} but {response.model} answered")
            error = ""
        except (ValidationError, ValueError) as exc:
            error = str(exc)[:2000]
            parsed = None
        finally:
            _record(services, week_id, account_id, purpose, attempt, request, response, error)
        if parsed is not None:
            return parsed, response.model
        messages = [*messages, ChatMessage(role="assistant", content=response.content),
                    ChatMessage(role="user", content=f"That answer did not validate: {error}\n"
                                                     "Answer again with one JSON object that matches the schema.")]
    raise ModelFailed(f"{model} gave no valid answer in {attempts} attempts: {error}")


def _record(services: Services, week_id: str, account_id: str, purpose: str, attempt: int,
            request: LLMRequest, response: Any, error: str) -> None:
    record = LLMCallRecord(
        week_id=week_id, account_id=account_id, purpose=purpose, model_requested=request.model,
        model_answered=response.model, offline=response.offline, attempt=attempt,
        messages=[m.model_dump() for m in request.messages], response_text=response.content, valid=not error,
        error=error or None, prompt_tokens=response.prompt_tokens, completion_tokens=response.completion_tokens,
        cost_usd=response.cost_usd, latency_ms=response.latency_ms,
    )
    # a rerun that gets a different answer keeps both calls; an identical one is stored once
    digest = hashlib.sha256(response.content.encode()).hexdigest()[:12]
    services.store.append(Event.of(record, week_id=week_id, account_id=account_id, kind=EventKind.LLM_CALL,
                                   subject=f"{purpose}#{attempt}#{digest}", recorded_at=datetime.now(UTC)))
