"""The LLM of a replay: every request answered with the stored answer to the same model and
messages (the week's llm_call events), never a network call. A request never asked before has no
answer: it fails like a model that did not answer, and the replay reports what changed."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from llmtrade.ports import LLMError, LLMRequest, LLMResponse
from llmtrade.schemas import LLMCallRecord, canonical_json


def _key(model: str, messages: list[dict[str, Any]]) -> str:
    return canonical_json([model, messages])


class RecordedLLM:
    def __init__(self, calls: Iterable[LLMCallRecord]) -> None:
        self._calls: dict[str, LLMCallRecord] = {}
        for call in calls:
            self._calls.setdefault(_key(call.model_requested, call.messages), call)

    def complete(self, request: LLMRequest) -> LLMResponse:
        call = self._calls.get(_key(request.model, [m.model_dump() for m in request.messages]))
        if call is None:
            raise LLMError(f"replay: no stored answer of {request.model} to this request",
                           attempts=0)
        if call.error and not call.response_text:  # it failed then: it fails again
            raise LLMError(call.error, status=call.http_status, attempts=call.http_attempts,
                           latency_ms=call.latency_ms, cost_usd=call.cost_usd)
        return LLMResponse(model=call.model_answered, content=call.response_text,
                           prompt_tokens=call.prompt_tokens,
                           completion_tokens=call.completion_tokens, cost_usd=call.cost_usd,
                           latency_ms=call.latency_ms, offline=call.offline,
                           provider=call.provider, attempts=call.http_attempts)
